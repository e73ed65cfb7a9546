"""The pages of ``notice_hub``: notices for officials (drafts, review, publication, 更正), the
deadline list, the notice-type table, the outbox's dead letters, and the public site
(/notices/: search, notice page, RSS/Atom)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from flask import Response, abort, request, stream_with_context, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from core.actions import Action, Actions
from core.db import db
from core.errors import RuleError
from core.models import Region
from core.notices import NOTICE_KINDS
from core.outbox import STATUSES as OUTBOX_STATUSES
from core.outbox import resend
from core.services.money import fmt_yuan
from core.tenancy import snapshot
from core.views.base import ErpModelView, labelled, money_text, select_field

from . import feeds, ocds, search, services
from .actions import NOTICE_ACTIONS
from .models import STATES, Notice, NoticeOutbox, NoticeType, notice_interface

TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
CATEGORY = "公告发布"


def _date(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else (
        value.isoformat() if isinstance(value, dt.date) else "—")


def _delay(value: Any) -> str:
    if value is None:
        return "—"
    return "按时" if value == 0 else f"逾期 {value} 个工作日"


class NoticeView(ErpModelView):
    """公告管理: drafts from the modules and the officials' own, reviewed and published by the
    owner; published notices are read-only (更正 instead)."""

    datamodel = notice_interface()
    rules = services.RULES
    record_actions = NOTICE_ACTIONS
    list_title = show_title = "公告"
    add_title = "起草公告"
    edit_title = "修改公告草稿"
    list_columns = ["number", "kind", "title", "status", "region", "publisher", "due_date",
                    "published_at", "delay_workdays"]
    show_columns = ["number", "kind", "title", "status", "region", "publisher", "purchaser", "amount",
                    "event_date", "due_date", "published_at", "published_by", "delay_workdays",
                    "refers_to", "summary", "body", "source_withdrawn", "link", "ocid"]
    add_columns = ["kind", "title", "summary", "region", "publisher", "purchaser", "amount",
                   "event_date"]
    edit_columns = ["title", "summary", "purchaser", "amount", "event_date"]
    search_columns = ["title", "kind", "status", "region", "due_date", "published_at"]
    label_columns = {"number": "公告编号", "kind": "公告类型", "title": "标题", "status": "状态",
                     "region": "所属地区", "publisher": "发布单位", "purchaser": "采购人",
                     "amount": "金额", "event_date": "事项发生日期", "due_date": "法定发布期限",
                     "published_at": "发布时间", "published_by": "发布人",
                     "delay_workdays": "是否按时", "refers_to": "更正的原公告", "summary": "正文",
                     "body": "发布文本", "source_withdrawn": "对应记录已撤回", "link": "业务记录",
                     "ocid": "OCDS 编号"}
    formatters_columns = {"kind": labelled(NOTICE_KINDS), "status": labelled(STATES),
                          "amount": money_text, "delay_workdays": _delay,
                          "published_at": _date,
                          "source_withdrawn": lambda v: "是（不能发布）" if v else "否"}
    add_form_extra_fields = {"kind": select_field("公告类型", NOTICE_KINDS)}
    base_order = ("id", "desc")


class NoticeTypeView(ErpModelView):
    """公告类型对照表: national categories, provincial codes, templates, default deadlines."""

    datamodel = SQLAInterface(NoticeType)
    list_title = show_title = "公告类型对照表"
    edit_title = "修改公告类型"
    list_columns = ["kind", "name", "national_category", "national_code", "provincial_code",
                    "deadline_workdays", "ocds_tag"]
    show_columns = list_columns + ["template", "active"]
    edit_columns = ["name", "national_category", "national_code", "provincial_code",
                    "deadline_workdays", "ocds_tag", "template", "active"]
    label_columns = {"kind": "类型代码", "name": "名称", "national_category": "全国平台类别",
                     "national_code": "全国平台类别代码", "provincial_code": "省网栏目代码",
                     "deadline_workdays": "法定期限（工作日）", "ocds_tag": "OCDS 发布标签",
                     "template": "正文模板", "active": "启用"}
    formatters_columns = {"kind": labelled(NOTICE_KINDS), "active": lambda v: "是" if v else "否",
                          "deadline_workdays": lambda v: "—" if v is None else f"{v} 个工作日"}
    base_permissions = ["can_list", "can_show", "can_edit"]


def _resend(session: Any, row: Any, body: dict[str, Any]) -> Any:
    resend(session, row)
    return row


OUTBOX_ACTIONS = Actions(
    Action("resend", "重新发送", _resend, permission="resend",
           available=lambda s, r: None if r.status == "failed" else False, audit=True,
           done="已重新排队，推送任务将再次发送"),
    permission="resend", module=services.MODULE, api_path="/<int:pk>/{name}",
    object_type="nh_outbox",
    result=lambda s, r, v: {"id": r.id, "status": r.status},
)


class NoticeOutboxView(ErpModelView):
    """推送队列: every notice on its way to a receiver; failed ones (死信) are re-sent here."""

    datamodel = SQLAInterface(NoticeOutbox)
    record_actions = OUTBOX_ACTIONS
    list_title = show_title = "公告推送队列"
    list_columns = ["key", "receiver", "notice", "status", "attempts", "next_attempt_at",
                    "delivered_at", "last_status_code", "last_error"]
    show_columns = list_columns + ["receipt", "created_at"]
    search_columns = ["status", "receiver"]
    label_columns = {"key": "幂等键", "receiver": "接收方", "notice": "公告", "status": "状态",
                     "attempts": "已尝试次数", "next_attempt_at": "下次尝试（UTC）",
                     "delivered_at": "送达时间（UTC）", "last_status_code": "最近应答码",
                     "last_error": "接收方最近应答", "receipt": "回执号", "created_at": "入队时间（UTC）"}
    formatters_columns = {"status": labelled(OUTBOX_STATUSES),
                          "receiver": labelled({"portal": "中国政府采购网"}),
                          "next_attempt_at": _date, "delivered_at": _date, "created_at": _date}
    base_permissions = ["can_list", "can_show", "can_resend"]
    base_order = ("id", "desc")


class NoticeDeadlineView(BaseView):
    """公告发布期限: notices due, overdue and published late, in the user's regions."""

    route_base = "/notices/deadlines"
    template_folder = TEMPLATE_FOLDER
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        which = request.args.get("state", "all")
        if which not in ("all", "due", "overdue", "late"):
            which = "all"
        rows = services.deadline_rows(db.session, which=which)
        counts = services.deadline_counts(db.session)
        return self.render_template("notice_hub/deadlines.html", rows=rows, counts=counts,
                                    which=which, states=services.DEADLINE_STATES,
                                    kinds=NOTICE_KINDS, fmt_date=_date)


class NoticePublicView(BaseView):
    """公告公开查询 (anonymous): search, notice page, RSS/Atom."""

    route_base = "/notices"
    template_folder = TEMPLATE_FOLDER
    default_view = "index"

    @expose("/")
    def index(self):
        errors: dict[str, list[str]] = {}
        try:
            args = search.parse_args(request.args, page_base=1)
            result = search.search(db.session, args)
        except RuleError as exc:
            errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": list(exc.messages)}
            result = search.SearchResult(0, [])
        query = request.args.to_dict()

        def url_with(**changes: Any) -> str:
            merged = {k: v for k, v in {**query, **changes}.items() if v not in (None, "")}
            return url_for("NoticePublicView.index", **merged)

        regions = sorted(((code, snapshot().name_of[i]) for i, code in snapshot().code_of.items()),
                         key=lambda x: x[0])
        html = self.render_template("notice_hub/public_search.html", result=result, args=request.args,
                                    errors=errors, kinds=NOTICE_KINDS, regions=regions,
                                    url_with=url_with, fmt=fmt_yuan, fmt_date=_date,
                                    region_name=lambda rid: snapshot().name_of.get(rid, ""))
        return (html, 400) if errors else html

    @expose("/<int:pk>")
    def show(self, pk: int):
        n = db.session.get(Notice, pk) if pk < 2**31 else None
        if n is None or n.status != "published":
            abort(404)
        corrections = list(db.session.scalars(select(Notice).where(
            Notice.refers_to_id == n.id, Notice.status == "published").order_by(Notice.id)))
        return self.render_template("notice_hub/public_notice.html", n=n, kinds=NOTICE_KINDS,
                                    fmt=fmt_yuan, fmt_date=_date, corrections=corrections,
                                    region=db.session.get(Region, n.region_id))

    @expose("/feed.<string:fmt>")
    def feed(self, fmt: str):
        if fmt not in ("rss", "atom"):
            abort(404)
        region = request.args.get("region") or None
        kind = request.args.get("kind") or None
        if (region and region not in snapshot().id_of) or (kind and kind not in NOTICE_KINDS):
            return Response("没有这个地区或公告类型", status=400, mimetype="text/plain")
        body = feeds.feed(db.session, fmt, region=region, kind=kind,
                          base_url=request.host_url.rstrip("/"))
        mime = "application/rss+xml" if fmt == "rss" else "application/atom+xml"
        return Response(body, mimetype=mime)


def register(appbuilder) -> None:
    appbuilder.add_view(NoticeView, "Notices", label="公告管理", category=CATEGORY,
                        icon="fa-bullhorn")
    appbuilder.add_view(NoticeDeadlineView, "NoticeDeadlines", label="发布期限", category=CATEGORY,
                        href="/notices/deadlines/")
    appbuilder.add_view(NoticeTypeView, "NoticeTypes", label="公告类型对照表", category=CATEGORY)
    appbuilder.add_view(NoticeOutboxView, "NoticeOutbox", label="推送队列", category=CATEGORY)
    appbuilder.add_view_no_menu(NoticePublicView())
    appbuilder.add_view_no_menu(OcdsView())
    appbuilder.add_link("公告公开查询", href="/notices/", icon="fa-search", category=CATEGORY)


class OcdsView(BaseView):
    """OCDS 1.1.5 (anonymous): a release package per notice, a record package per process,
    bulk release packages per region and month (streamed)."""

    route_base = "/ocds"
    default_view = "index"

    @expose("/")
    def index(self):
        return Response(json.dumps({
            "releases": "/ocds/releases/<notice id>.json",
            "records": "/ocds/records/<ocid>.json",
            "bulk": "/ocds/bulk/<region code>/<YYYY-MM>.json"}, ensure_ascii=False),
            mimetype="application/json")

    @expose("/releases/<int:pk>.json")
    def release(self, pk: int):
        n = db.session.get(Notice, pk) if pk < 2**31 else None
        if n is None or n.status != "published":
            abort(404)
        body = ocds.release_package(db.session, n, request.host_url.rstrip("/"))
        return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")

    @expose("/records/<string:ocid>.json")
    def record(self, ocid: str):
        body = ocds.record_package(db.session, ocid[:120], request.host_url.rstrip("/"))
        if body is None:
            abort(404)
        return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")

    @expose("/bulk/<string:region>/<string:month>.json")
    def bulk(self, region: str, month: str):
        try:
            ocds.month_bounds(month)
            chunks = ocds.stream_bulk(db.session, region, month, request.host_url.rstrip("/"))
            first = next(chunks)
        except ocds.ExportError as exc:
            return Response(json.dumps({"status": 400, "message": str(exc)}, ensure_ascii=False),
                            status=400, mimetype="application/json")

        def gen():
            yield first
            yield from chunks

        return Response(stream_with_context(gen()), mimetype="application/json")
