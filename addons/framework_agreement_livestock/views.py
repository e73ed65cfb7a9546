"""行业馆框架协议 (``/livestock/framework/``): the agreements in force whose items belong to the
livestock pavilion's categories, with their shortlisted products and agreement prices; a
purchaser entitled to one buys through 采购框架协议产品."""

from __future__ import annotations

from pathlib import Path

from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from addons.emall.models import EmallCategory
from addons.emall_livestock.hooks import HOME_LINKS, HomeLink
from addons.framework_agreement.models import FaAgreement, FaItem
from addons.framework_agreement.services import calloffs
from core.db import db
from core.services.money import fmt_yuan
from core.tenancy import current_scope

PAVILION = "livestock"
MODULE = "framework_agreement_livestock"


@HOME_LINKS.implement(MODULE)
def pavilion_home_link() -> HomeLink | None:
    """The pavilion's home page links here (where this bridge is enabled, for a user who may
    open the page)."""
    from flask import current_app

    if not current_app.appbuilder.sm.has_access("can_access", "FaPavilionPage"):
        return None
    return HomeLink(key="framework", title="行业馆框架协议", url="/livestock/framework/",
                    note="疫苗等行业馆品目的框架协议：入围产品与协议价格，可直接进入框架协议采购",
                    icon="fa-handshake-o")


def pavilion_agreements(session, scope) -> list[dict]:
    """Agreements the user may use (purchasers) or sees (collecting parties, auditors) whose
    items are pavilion categories."""
    pavilion_items = select(FaItem.agreement_id).join(EmallCategory, EmallCategory.id == FaItem.category_id) \
        .where(EmallCategory.pavilion == PAVILION)
    ids = set(session.execute(pavilion_items, execution_options={"erp_unscoped": True}).scalars())
    usable = [a for a in calloffs.available(session, scope) if a["id"] in ids]
    seen = {a["id"] for a in usable}
    for ag in session.execute(select(FaAgreement).where(FaAgreement.id.in_(ids), FaAgreement.status == "active")
                              .order_by(FaAgreement.id)).scalars():
        if ag.id not in seen:
            usable.append({"id": ag.id, "number": ag.number, "name": ag.name, "methods": ag.method_list,
                           "term_end": ag.term_end.isoformat(), "lines": [], "readonly": True})
    return usable


class FaPavilionView(BaseView):
    route_base = "/livestock/framework"
    template_folder = str(Path(__file__).resolve().parent / "templates")
    class_permission_name = "FaPavilionPage"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("access")
    def index(self):
        return self.render_template("fa_livestock/pavilion.html",
                                    agreements=pavilion_agreements(db.session, current_scope()), fmt=fmt_yuan)


def register(appbuilder) -> None:
    appbuilder.add_view(FaPavilionView, "行业馆框架协议", icon="fa-paw", category="电子卖场")
