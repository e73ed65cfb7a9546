"""The REST API of ``notice_hub``: ``/api/v1/nh_notice/`` (officials: drafts, publish, 更正)
and ``/api/v1/notices/`` (public search, anonymous)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import expose, safe

from core.api import ErpBaseApi, ErpModelRestApi
from core.db import db
from core.tenancy import snapshot

from . import search, services
from .actions import NOTICE_ACTIONS
from .models import Notice, notice_interface


class NoticeApi(ErpModelRestApi):
    title = "公告"
    resource_name = "nh_notice"
    datamodel = notice_interface()
    class_permission_name = "NoticeView"
    rules = services.RULES
    record_actions = NOTICE_ACTIONS
    list_columns = ["id", "number", "kind", "title", "status", "region.id", "region.name",
                    "publisher.id", "publisher.name", "amount", "event_date", "due_date",
                    "published_at", "delay_workdays", "refers_to_id"]
    show_columns = list_columns + ["summary", "body", "source", "source_id", "source_withdrawn",
                                   "purchaser.id", "purchaser.name", "link", "ocid"]
    add_columns = ["kind", "title", "summary", "region", "publisher", "purchaser", "amount",
                   "event_date"]
    edit_columns = ["title", "summary", "purchaser", "amount", "event_date"]
    label_columns = {"kind": "公告类型", "title": "标题", "summary": "正文", "region": "所属地区",
                     "publisher": "发布单位", "purchaser": "采购人", "amount": "金额",
                     "event_date": "事项发生日期"}


def notice_dict(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "number": n.number, "kind": n.kind, "kind_label": services.kind_label(n.kind),
            "title": n.title, "region": snapshot().code_of.get(n.region_id),
            "region_name": snapshot().name_of.get(n.region_id),
            "purchaser": n.purchaser_org_id, "amount": str(n.amount) if n.amount is not None else None,
            "published_at": n.published_at.isoformat() if n.published_at else None,
            "url": f"/notices/{n.id}"}


class NoticeSearchApi(ErpBaseApi):
    resource_name = "notices"
    openapi_spec_tag = "Notices (public)"

    @expose("/", methods=["GET"])
    @safe
    def search(self):
        """Search published notices (anonymous): q (words, all must match; pinyin applied),
        kind, region (code, with its subordinate regions), purchaser (id or part of the
        name), date_from, date_to (publication, ISO dates), amount_min, amount_max, page (from
        0), page_size (1-100). Newest first. A bad value: 422 with Chinese field messages.
        ---
        get:
          responses:
            200:
              description: count, result, approximate
            422:
              description: a bad argument
        """
        def run() -> Any:
            args = search.parse_args(request.args)
            res = search.search(db.session, args)
            return self.response(200, count=res.count, capped=res.capped, approximate=res.approximate,
                                 result=[notice_dict(n) for n in res.rows])
        return self._erp_answer(run)


NoticeSearchApi.search.erp_free_text_q = True  # type: ignore[attr-defined]  (q is keywords)


def register(appbuilder) -> None:
    appbuilder.add_api(NoticeApi)
    appbuilder.add_api(NoticeSearchApi)
