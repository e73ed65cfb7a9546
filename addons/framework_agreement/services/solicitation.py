"""Stage 1a: the solicitation (征集). Closed or open (with the reason), demand frozen once
published, ceiling unit prices per item, the term within the limit, eligible purchasers or
regions, second-stage methods named, response period (closed) ≥ 20 days."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Organization, Region
from core.rules import ModelRules, related_object
from core.services import audit
from core.services.money import MoneyError, to_money
from core.tenancy import Scope

from ..models import EVALUATIONS, FORMS, KINDS, METHODS, FaAgreement, FaItem
from . import discounts, notices
from .common import (
    MODULE,
    UNSCOPED,
    ConflictError,
    RuleError,
    actor_scope,
    assert_collector,
    now,
    setting,
    text,
    today,
)

COLLECTOR_TYPES = ("central_procurement", "competent_unit")
#: 110号令 forbids admitting every qualified supplier (符合资格条件即入围)
QUALIFIED_ADMITTED = re.compile(r"符合(资格)?条件(的)?(供应商)?(即|均|全部)(可)?入围|资格入围|合格即入围")
#: fields frozen once the solicitation is published (the demand for the whole term)
FROZEN = ("name", "subject", "demand", "kind", "form", "evaluation", "methods", "term_start", "term_end",
          "shortlist_cap", "performance_area", "performance_requirements", "volume_discounts",
          "discount_tiers",
          "payment_terms", "contract_template", "response_deadline", "lab_instruments", "open_reason",
          "collector_id")


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def term_limit(session: Session, ag: FaAgreement) -> tuple[int, dt.date]:
    months = int(setting(session, "goods_term_months" if ag.kind == "goods" else "services_term_months",
                         ag.region_id))
    return months, add_months(ag.term_start, months) - dt.timedelta(days=1)


def _methods(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        parts = [text(v) for v in value]
    else:
        parts = [p.strip() for p in re.split(r"[,，\s]+", text(value))]
    return [p for p in parts if p]


def check_agreement(session: Session, ag: FaAgreement) -> None:
    """Every rule of a solicitation's fields (add, update, publish)."""
    errors: dict[str, list[str]] = {}

    def err(field: str, msg: str) -> None:
        errors.setdefault(field, []).append(msg)

    ag.name = text(ag.name)
    if not ag.name:
        err("name", "请填写框架协议名称")
    if not text(ag.subject):
        err("subject", "请填写采购标的")
    if not text(ag.demand):
        err("demand", "请填写采购需求")
    if ag.kind not in KINDS:
        err("kind", "请选择项目类别：货物或服务")
    if ag.form not in FORMS:
        err("form", "请选择框架协议形式：封闭式或开放式")
    elif ag.form == "open" and not text(ag.open_reason):
        err("open_reason", "开放式框架协议仅限财政部令第110号规定的情形，请填写采用开放式的理由")
    if ag.evaluation not in EVALUATIONS:
        err("evaluation", "请选择评审方法：价格优先或质量优先")
    methods = _methods(ag.methods)
    bad = [m for m in methods if m not in METHODS]
    if not methods or bad:
        err("methods", "请选择第二阶段成交方式：直接选定（direct）、二次竞价（competition）、顺序轮候（rotation）")
    else:
        ag.methods = ",".join(m for m in METHODS if m in methods)
    for field in ("subject", "demand"):
        if QUALIFIED_ADMITTED.search(text(getattr(ag, field))):
            err(field, "不得以“符合资格条件即入围”的方式确定入围供应商（财政部令第110号）")
    try:
        ag.discount_tiers = discounts.canonical(discounts.parse(ag.discount_tiers))
    except RuleError as exc:
        errors.update(exc.messages)
    if ag.shortlist_cap is not None and ag.shortlist_cap < 1:
        err("shortlist_cap", "入围供应商数量上限至少为 1 家")
    collector = related_object(session, ag, "collector")
    if collector is None:
        err("collector", "请选择征集人")
    elif collector.org_type not in COLLECTOR_TYPES:
        err("collector", "征集人应为集中采购机构或主管预算单位")
    else:
        region = related_object(session, ag, "region")
        if region is None:
            ag.region = collector.region
            ag.region_id = collector.region_id
        elif region.id != collector.region_id:
            err("region", f"框架协议的所在地区应为征集人所在地区（{collector.region.name}）")
    if not isinstance(ag.term_start, dt.date) or not isinstance(ag.term_end, dt.date):
        err("term_end", "请填写协议期限的起止日期")
    elif ag.term_end < ag.term_start:
        err("term_end", "协议期限的结束日期不能早于开始日期")
    elif ag.kind in KINDS:
        months, limit = term_limit(session, ag)
        if ag.term_end > limit:
            err("term_end", f"框架协议期限超过上限：{KINDS[ag.kind]}类不超过 {months} 个月"
                            f"（最迟 {limit:%Y-%m-%d}）")
    if not isinstance(ag.response_deadline, dt.datetime):
        err("response_deadline", "请填写响应截止时间")
    elif ag.status in (None, "draft") and ag.form == "closed":
        start = ag.published_on or today()
        days = int(setting(session, "closed_response_days", ag.region_id))
        if ag.response_deadline.date() < start + dt.timedelta(days=days):
            err("response_deadline", f"封闭式框架协议的响应期不得少于 {days} 日：响应截止不得早于 "
                                     f"{start + dt.timedelta(days=days):%Y-%m-%d}")
    if isinstance(ag.response_deadline, dt.datetime) and isinstance(ag.term_start, dt.date) \
            and ag.response_deadline.date() > ag.term_start:
        err("term_start", "协议期限应在响应截止之后开始")
    if errors:
        raise RuleError(errors)


class AgreementRules(ModelRules):
    def validate(self, session: Session, item: FaAgreement) -> None:
        check_agreement(session, item)

    def before_add(self, session: Session, item: FaAgreement) -> None:
        scope = actor_scope(None)
        if item.collector_id is None and item.collector is None and scope.org_id:
            item.collector = session.get(Organization, scope.org_id)
        item.status = "draft"
        item.round = 1
        item.created_at = now()
        if not item.number:
            item.number = f"KJ{today():%Y%m%d}{secrets.token_hex(3).upper()}"
        self.validate(session, item)
        assert_collector(session, item, scope)

    def before_update(self, session: Session, item: FaAgreement) -> None:
        if item.status != "draft" and self.changed(item, *FROZEN):
            raise RuleError({"demand": ["采购需求已随征集公告发布，协议期内不得修改（财政部令第110号）"]})
        self.validate(session, item)

    def may_delete(self, session: Session, item: FaAgreement) -> str | None:
        if item.status != "draft":
            raise ConflictError("已发布的框架协议不能删除")
        return None


ITEM_FIELDS = ("agreement_id", "agreement", "seq", "category_id", "category", "name", "spec", "unit", "ceiling_price",
               "est_quantity", "max_quantity")


class ItemRules(ModelRules):
    def validate(self, session: Session, item: FaItem) -> None:
        ag = related_object(session, item, "agreement")
        errors: dict[str, list[str]] = {}
        if ag is None:
            raise RuleError({"agreement": ["请选择框架协议"]})
        if ag.status != "draft":
            raise RuleError({"agreement": ["采购需求已随征集公告发布，协议期内不得修改品目和最高限制单价（财政部令第110号）"]})
        item.region_id = ag.region_id
        item.region = ag.region  # derived from the agreement (a posted region is checked first)
        item.name = text(item.name)
        if not item.name:
            errors["name"] = ["请填写品目名称"]
        try:
            price = to_money(item.ceiling_price)
        except (MoneyError, TypeError):
            errors["ceiling_price"] = ["请填写最高限制单价（元，最多两位小数）"]
        else:
            if price <= 0:
                errors["ceiling_price"] = ["最高限制单价应大于 0"]
            item.ceiling_price = price
        if not item.est_quantity or item.est_quantity < 1:
            errors["est_quantity"] = ["预估采购数量至少为 1"]
        if not item.max_quantity or item.max_quantity < 1:
            errors["max_quantity"] = ["单个供应商供货数量上限至少为 1"]
        if errors:
            raise RuleError(errors)

    def before_update(self, session: Session, item: FaItem) -> None:
        changed = self.changed(item, *ITEM_FIELDS)  # before any query flushes the change
        with session.no_autoflush:
            ag = related_object(session, item, "agreement")
        if ag is not None and ag.status != "draft" and not changed:
            return  # an unchanged re-save of a published item changes nothing
        self.validate(session, item)

    def may_delete(self, session: Session, item: FaItem) -> str | None:
        ag = related_object(session, item, "agreement")
        if ag is not None and ag.status != "draft":
            raise ConflictError("采购需求已随征集公告发布，不能删除品目")
        return None


AGREEMENT = AgreementRules()
ITEM = ItemRules()


def publish(session: Session, ag: FaAgreement, *, scope: Scope | None = None) -> FaAgreement:
    """Publish the solicitation: the notice goes out and the demand is frozen."""
    scope = actor_scope(scope)
    assert_collector(session, ag, scope)
    if ag.status != "draft":
        raise ConflictError("该框架协议已发布")
    ag.published_on = today()
    check_agreement(session, ag)
    errors: dict[str, list[str]] = {}
    if not ag.items:
        errors["items"] = ["请至少添加一个品目及其最高限制单价"]
    if not ag.eligible_regions and not ag.eligible_purchasers:
        errors["eligible_regions"] = ["请指定适用的地区或采购人"]
    if errors:
        ag.published_on = None
        raise RuleError(errors)
    ag.status = "published"
    audit.record(session, action="transition:publish", object_type="fa_agreement", object_id=ag.id,
                 after={"status": "published"}, module=MODULE, region_id=ag.region_id)
    items = "\n".join(f"{i.seq}. {i.name}（{i.unit}）最高限制单价 {i.ceiling_price} 元" for i in ag.items)
    body = (f"征集人：{ag.collector.name}\n框架协议形式：{FORMS[ag.form]}"
            + (f"（理由：{ag.open_reason}）" if ag.form == "open" else "")
            + f"\n采购标的：{ag.subject}\n采购需求：{ag.demand}\n品目：\n{items}\n"
            f"协议期限：{ag.term_start:%Y-%m-%d} 至 {ag.term_end:%Y-%m-%d}\n"
            f"第二阶段成交方式：{'、'.join(METHODS[m] for m in ag.method_list)}\n"
            + (f"量大优惠：{discounts.label(ag.discount_tiers)}（按单次采购数量，在协议价格基础上优惠）\n"
               if ag.discount_tiers else "")
            + f"响应截止时间：{ag.response_deadline:%Y-%m-%d %H:%M}")
    notices.issue(session, ag, "framework_solicitation", f"agreement:{ag.id}:1", f"{ag.name} 征集公告", body,
                  event_date=today())
    return ag


def regions_by_code(session: Session, codes: list[str]) -> list[Region]:
    return list(session.execute(select(Region).where(Region.code.in_(codes)), execution_options=UNSCOPED).scalars())
