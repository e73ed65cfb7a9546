"""The demo data tells a true story (the stored disclosures equal what the records give, the
qualifying draft project is stopped at publication) and every page of the module renders for
the demo users, in Chinese, without program values."""

from __future__ import annotations

import re

import pytest

from tests.conftest import cli, installer
from tests.core.test_web import login_form


@pytest.fixture
def demo(app):
    assert "sme_policy" in installer(app).install(["sme_policy"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "sme_policy").exit_code == 0
    assert cli(app, "tenant", "enable", "220000", "procurement_base").exit_code == 0
    res = cli(app, "demo", "users")
    assert res.exit_code == 0, res.output
    return app


def test_demo_disclosures_match_the_records(demo) -> None:
    from sqlalchemy import select

    from addons.procurement_base.models import Project
    from addons.sme_policy import disclosure, policy
    from addons.sme_policy.models import Disclosure
    from core.db import db
    from core.tenancy import SYSTEM, use_scope

    with demo.app_context(), use_scope(SYSTEM):
        items = db.session.execute(select(Disclosure)).scalars().all()
        assert {(d.unit.name, d.status) for d in items} == {("吉林市城市管理局", "reviewed"),
                                                             ("长春市公安局", "published")}
        for d in items:
            f = disclosure.compute(db.session, d.unit_id, d.year)
            assert (f.total, f.suitable, f.reserved_total, f.sme, f.small_micro) == (
                d.total_amount, d.suitable_amount, d.reserved_total, d.sme_amount,
                d.small_micro_amount), d.unit.name
            assert (f.reserved_share, f.small_micro_share) == (d.reserved_share,
                                                               d.small_micro_share)
            assert [ln.project_number for ln in d.lines] == sorted(
                line[0] for line in f.projects.values())
        waiting = next(d for d in items if d.status == "reviewed")
        assert waiting.below_target and waiting.shortfall_explanation
        # contracts carry the 中小企业预留合同 mark and the size at the time
        roof = db.session.execute(select(Project).where(
            Project.number == "JLZC2025-007")).scalar_one()
        from addons.sme_policy.dashboard import contract_marks

        assert [(c["number"], c["mark"], c["size"]) for c in contract_marks(db.session, roof)] \
            == [("JLZC2025-007-HT01", "中小企业预留合同", "中型企业")]
        draft = db.session.execute(select(Project).where(
            Project.number == "CCZC2026-020")).scalar_one()
        assert "应整体预留给中小企业" in policy.publication_refusal(db.session, draft)


PAGES = ["/smedisclosureview/list/", "/smeprojectpolicyview/list/",
         "/smedeclarationview/list/", "/sme/dashboard/?year=2025", "/sme/dashboard/?year=abc",
         "/smedisclosureview/add", "/smeprojectpolicyview/add", "/smedeclarationview/add"]
BAD = re.compile(r">\s*(None|True|False|nan)\s*<")


@pytest.mark.parametrize("user", ["admin", "sme_unit", "auditor", "purchaser", "supplier"])
def test_pages_render_for_demo_users(demo, user: str) -> None:
    from sqlalchemy import select

    from addons.sme_policy.models import Declaration, Disclosure, ProjectPolicy
    from core.db import db

    client = demo.test_client()
    login_form(client, user, "admin12345" if user == "admin" else "demo12345")
    with demo.app_context():
        ids = {m: db.session.execute(select(m.id)).scalars().all()
               for m in (Disclosure, ProjectPolicy, Declaration)}
    pages = list(PAGES)
    pages += [f"/smedisclosureview/show/{i}" for i in ids[Disclosure]]
    pages += [f"/smeprojectpolicyview/show/{i}" for i in ids[ProjectPolicy]]
    pages += [f"/smedeclarationview/show/{i}" for i in ids[Declaration]]
    for url in pages:
        res = client.get(url)
        assert res.status_code in (200, 302, 403, 404), (user, url, res.status_code)
        assert res.status_code != 500
        if res.status_code == 200:
            html = res.get_data(as_text=True)
            assert not BAD.search(html), (user, url, BAD.search(html).group(0))
    if user == "sme_unit":
        roof = client.get(f"/smeprojectpolicyview/show/{max(ids[ProjectPolicy])}")
        assert "中小企业预留合同" in roof.get_data(as_text=True)
    if user in ("admin", "sme_unit"):
        waiting = client.get(f"/smedisclosureview/show/{min(ids[Disclosure])}")
        assert "预留项目清单" in waiting.get_data(as_text=True)
