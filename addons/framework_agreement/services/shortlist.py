"""Stage 1b: responses, shortlisting (入围), signing, open agreements (join / exit), removal
(清退, no rejoin) and supplementary solicitation (补充征集)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from addons.emall.models import EmallListing
from core.models import Organization
from core.services import audit, workdays
from core.services.money import MoneyError, fmt_yuan, to_money
from core.tenancy import Scope

from ..models import REMOVAL_CAUSES, FaAgreement, FaLine, FaMember, FaResponse, FaResponseLine
from . import notices
from .common import (
    MODULE,
    UNSCOPED,
    ZERO,
    ConflictError,
    ForbiddenError,
    RuleError,
    actor_scope,
    assert_collector,
    is_platform,
    now,
    setting,
    text,
    today,
)


def _member(session: Session, ag: FaAgreement, supplier_id: int) -> FaMember | None:
    return session.execute(select(FaMember).where(FaMember.agreement_id == ag.id,
                                                  FaMember.supplier_id == supplier_id),
                           execution_options=UNSCOPED).scalar_one_or_none()


def _window(ag: FaAgreement) -> tuple[str, dt.datetime | None]:
    """Which kind of response the agreement takes now: stage-1 response, supplementary
    round, an application to an open agreement, or none."""
    at = now()
    if ag.status == "published" and at <= ag.response_deadline:
        return "response", ag.response_deadline
    if ag.status in ("evaluated", "active") and ag.round > 1 and ag.round_deadline and at <= ag.round_deadline:
        return "response", ag.round_deadline
    if ag.status == "active" and ag.form == "open" and ag.term_start <= at.date() <= ag.term_end:
        return "application", None
    return "closed", None


def submit_response(session: Session, ag: FaAgreement, supplier_id: int, lines: list[dict[str, Any]], *,
                    note: str | None = None, scope: Scope | None = None) -> FaResponse:
    """A supplier responds (or applies to join an open agreement) with a product and a quote
    for every item; quotes above the ceiling are refused."""
    scope = actor_scope(scope)
    if not is_platform(scope) and scope.org_id != supplier_id:
        raise ForbiddenError("只能以本供应商名义响应")
    supplier = session.get(Organization, supplier_id, execution_options=UNSCOPED)
    if supplier is None or supplier.org_type != "supplier":
        raise RuleError({"supplier": ["只有供应商可以响应框架协议征集"]})
    kind, _deadline = _window(ag)
    if kind == "closed":
        raise ConflictError("该框架协议当前不接受响应：已过响应截止时间或不在协议期内")
    member = _member(session, ag, supplier_id)
    if member is not None and member.status == "removed":
        raise RuleError({"supplier": ["该供应商已被清退出本框架协议，不得再次入围"]})
    if member is not None and member.status == "active":
        raise ConflictError("该供应商已是本框架协议的入围供应商")
    errors: dict[str, list[str]] = {}
    items = {i.id: i for i in ag.items}
    seen: dict[int, dict[str, Any]] = {}
    for n, raw in enumerate(lines or [], start=1):
        try:
            item_id = int(raw.get("item"))
        except (TypeError, ValueError):
            errors.setdefault("lines", []).append(f"第 {n} 行：请选择品目")
            continue
        item = items.get(item_id)
        if item is None:
            errors.setdefault("lines", []).append(f"第 {n} 行：品目不属于本框架协议")
            continue
        if item_id in seen:
            errors.setdefault("lines", []).append(f"“{item.name}”重复报价")
            continue
        try:
            price = to_money(raw.get("unit_price"))
        except (MoneyError, TypeError):
            errors.setdefault("unit_price", []).append(f"“{item.name}”：请填写报价（元，最多两位小数）")
            continue
        if price <= 0:
            errors.setdefault("unit_price", []).append(f"“{item.name}”：报价应大于 0")
        elif price > item.ceiling_price:
            errors.setdefault("unit_price", []).append(
                f"“{item.name}”报价 {fmt_yuan(price)} 超过最高限制单价 {fmt_yuan(item.ceiling_price)}")
        listing = session.get(EmallListing, raw.get("listing"), execution_options=UNSCOPED) \
            if isinstance(raw.get("listing"), int) else None
        if listing is None or listing.supplier_id != supplier_id or listing.status != "listed":
            errors.setdefault("listing", []).append(f"“{item.name}”：请选择本供应商在电子卖场已上架的商品")
        elif item.category_id and listing.category_id != item.category_id:
            errors.setdefault("listing", []).append(f"“{item.name}”：商品“{listing.name}”不属于该品目的分类")
        qty = raw.get("supply_quantity", item.max_quantity)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1 or qty > item.max_quantity:
            errors.setdefault("supply_quantity", []).append(
                f"“{item.name}”：供货承诺数量应在 1 至 {item.max_quantity} 之间")
            continue
        seen[item_id] = {"item": item, "listing": listing, "price": price, "qty": qty}
    missing = [i.name for i in ag.items if i.id not in seen]
    if missing and not errors:
        errors.setdefault("lines", []).append(f"须对全部品目报价，缺少：{'、'.join(missing)}")
    if errors:
        raise RuleError(errors)
    rnd = ag.round if kind == "response" else 0
    resp = session.execute(select(FaResponse).where(FaResponse.agreement_id == ag.id,
                                                    FaResponse.supplier_id == supplier_id,
                                                    FaResponse.round == rnd),
                           execution_options=UNSCOPED).scalar_one_or_none()
    if resp is not None and resp.status not in ("submitted", "applied", "withdrawn"):
        raise ConflictError("该响应已评审，不能修改")
    if resp is None:
        resp = FaResponse(agreement_id=ag.id, supplier_id=supplier_id, round=rnd, region_id=ag.region_id)
        session.add(resp)
    else:
        resp.lines.clear()
        session.flush()
    resp.status = "submitted" if kind == "response" else "applied"
    resp.note = text(note) or None
    resp.submitted_at = now()
    resp.evaluated_price = sum((v["price"] * v["item"].est_quantity for v in seen.values()), ZERO)
    for v in seen.values():
        resp.lines.append(FaResponseLine(item_id=v["item"].id, supplier_id=supplier_id, listing_id=v["listing"].id,
                                         unit_price=v["price"], supply_quantity=v["qty"], region_id=ag.region_id))
    session.flush()
    audit.record(session, action="submit", object_type="fa_response", object_id=resp.id,
                 after={"agreement": ag.number, "round": rnd}, module=MODULE, region_id=ag.region_id)
    return resp


def reject_response(session: Session, resp: FaResponse, reason: str, *, scope: Scope | None = None) -> FaResponse:
    """The collecting party finds a response non-compliant (after the deadline), with a reason."""
    scope = actor_scope(scope)
    ag = session.get(FaAgreement, resp.agreement_id, execution_options=UNSCOPED)
    assert_collector(session, ag, scope)
    if not text(reason):
        raise RuleError({"reason": ["请填写响应无效的理由"]})
    if resp.status not in ("submitted", "applied"):
        raise ConflictError("该响应已评审")
    if resp.status == "submitted" and _window(ag)[0] == "response":
        raise ConflictError("响应截止前不得开启响应文件")
    resp.status = "rejected"
    resp.note = text(reason)
    audit.record(session, action="transition:reject", object_type="fa_response", object_id=resp.id,
                 reason=text(reason), module=MODULE, region_id=resp.region_id)
    return resp


def max_shortlisted(session: Session, ag: FaAgreement, compliant: int) -> int:
    """Closed: at least ⌈n × rate⌉ and at least one eliminated; a cap in the documents limits it."""
    if ag.form == "open":
        return compliant
    key = "elimination_rate_lab" if (ag.evaluation == "quality" and ag.lab_instruments) else "elimination_rate"
    rate = Decimal(str(setting(session, key, ag.region_id)))
    most = compliant - max(1, math.ceil(compliant * rate))
    if ag.shortlist_cap:
        most = min(most, ag.shortlist_cap)
    return max(most, 0)


def confirm_shortlist(session: Session, ag: FaAgreement, *, count: int | None = None,
                      scores: dict[int, Any] | None = None, scope: Scope | None = None) -> list[FaMember]:
    """Rank the compliant responses of the current round (price priority: evaluated price;
    quality priority: score) and shortlist the best ``count``; their quotes become the
    agreement prices; the result notice is due within 2 working days."""
    scope = actor_scope(scope)
    assert_collector(session, ag, scope)
    supplementary = ag.round > 1 and ag.status in ("evaluated", "active")
    if not supplementary and ag.status != "published":
        raise ConflictError("只能对征集中的框架协议确定入围供应商")
    deadline = ag.round_deadline if supplementary else ag.response_deadline
    if deadline is None or now() <= deadline:
        raise ConflictError(f"响应截止（{deadline:%Y-%m-%d %H:%M}）前不能评审" if deadline else "补充征集尚未开始")
    responses = list(session.execute(select(FaResponse).where(
        FaResponse.agreement_id == ag.id, FaResponse.round == ag.round, FaResponse.status == "submitted"),
        execution_options=UNSCOPED).scalars())
    if ag.evaluation == "quality":
        errors = []
        for r in responses:
            value = (scores or {}).get(r.id, r.score)
            try:
                r.score = to_money(value)
            except (MoneyError, TypeError):
                errors.append(f"请填写“{r.supplier.name}”的评审得分")
        if errors:
            raise RuleError({"scores": errors})
        responses.sort(key=lambda r: (-r.score, r.submitted_at or now(), r.id))
    else:
        responses.sort(key=lambda r: (r.evaluated_price, r.submitted_at or now(), r.id))
    n = len(responses)
    if n < 2 and not supplementary:
        raise RuleError({"_schema": [f"合格响应供应商只有 {n} 家，不足 2 家，不能确定入围（财政部令第110号）"]})
    most = max_shortlisted(session, ag, n)
    k = most if count is None else count
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise RuleError({"count": ["入围供应商数量至少为 1 家"]})
    if k > most:
        rate = "40%" if (ag.evaluation == "quality" and ag.lab_instruments) else "20%"
        raise RuleError({"count": [
            f"淘汰率低于 {rate}：合格响应 {n} 家，最多入围 {most} 家，且至少淘汰 1 家"
            + (f"（入围数量上限 {ag.shortlist_cap} 家）" if ag.shortlist_cap else "")
            + "；不得“符合资格条件即入围”（财政部令第110号）"]})
    position = session.execute(select(func.coalesce(func.max(FaMember.rotation_position), 0))
                               .where(FaMember.agreement_id == ag.id), execution_options=UNSCOPED).scalar()
    members = []
    for rank, r in enumerate(responses, start=1):
        r.rank = rank
        if rank > k:
            r.status = "eliminated"
            continue
        r.status = "shortlisted"
        members.append(_admit(session, ag, r, position + rank))
    if not supplementary:
        ag.status = "evaluated"
        ag.confirmed_on = today()
    audit.record(session, action="transition:shortlist", object_type="fa_agreement", object_id=ag.id,
                 after={"round": ag.round, "shortlisted": [m.supplier_id for m in members], "compliant": n},
                 module=MODULE, region_id=ag.region_id)
    names = "\n".join(f"{m.rotation_position}. {m.supplier.name}" for m in members)
    kind = "framework_change" if supplementary else "framework_shortlist"
    title = f"{ag.name} {'补充征集' if supplementary else ''}入围结果公告"
    notices.issue(session, ag, kind, f"agreement:{ag.id}:round:{ag.round}", title,
                  f"合格响应供应商 {n} 家，入围 {len(members)} 家（按顺序轮候次序）：\n{names}\n"
                  "各入围产品的响应报价即为协议价格，是第二阶段成交的最高价格。", event_date=today())
    session.flush()
    return members


def _admit(session: Session, ag: FaAgreement, r: FaResponse, position: int) -> FaMember:
    member = _member(session, ag, r.supplier_id)
    if member is None:
        member = FaMember(agreement_id=ag.id, supplier_id=r.supplier_id, region_id=ag.region_id)
        session.add(member)
    member.rank = r.rank or position
    member.rotation_position = position
    member.status = "active"
    member.joined_on = today()
    member.supplier = session.get(Organization, r.supplier_id, execution_options=UNSCOPED)
    with session.no_autoflush:
        existing = {ln.item_id: ln for ln in session.execute(
            select(FaLine).where(FaLine.agreement_id == ag.id, FaLine.supplier_id == r.supplier_id),
            execution_options=UNSCOPED).scalars()}
        for ln in r.lines:
            line = existing.get(ln.item_id)
            if line is None:
                line = FaLine(agreement_id=ag.id, item_id=ln.item_id, supplier_id=r.supplier_id,
                              region_id=ag.region_id, ordered_quantity=0, ordered_amount=ZERO)
            line.listing_id = ln.listing_id
            line.agreement_price = ln.unit_price
            line.ceiling_price = ln.item.ceiling_price
            line.cap_quantity = ln.supply_quantity
            line.active = True
            session.add(line)
    return member


def sign(session: Session, ag: FaAgreement, *, on: dt.date | None = None, scope: Scope | None = None) -> FaAgreement:
    """The agreement is signed with the shortlisted suppliers (within 30 days of confirmation)."""
    scope = actor_scope(scope)
    assert_collector(session, ag, scope)
    if ag.status != "evaluated":
        raise ConflictError("只有入围结果已确定的框架协议可以签订")
    on = on or today()
    if on < ag.confirmed_on or on > today():
        raise RuleError({"date": ["签订日期应在入围确定之后、不晚于今天"]})
    ag.signed_on = on
    ag.status = "active"
    audit.record(session, action="transition:sign", object_type="fa_agreement", object_id=ag.id,
                 after={"status": "active", "signed_on": on}, module=MODULE, region_id=ag.region_id)
    return ag


def sign_due(session: Session, ag: FaAgreement) -> dt.date | None:
    if ag.confirmed_on is None:
        return None
    return ag.confirmed_on + dt.timedelta(days=int(setting(session, "sign_days", ag.region_id)))


def review_due(session: Session, resp: FaResponse) -> dt.date | None:
    if resp.submitted_at is None:
        return None
    days = int(setting(session, "application_review_workdays", resp.region_id))
    return workdays.add_working_days(resp.submitted_at.date(), days, session)


def review_application(session: Session, resp: FaResponse, approve: bool, *, reason: str | None = None,
                       scope: Scope | None = None) -> FaResponse:
    """Open agreement: admit (the notice is updated) or refuse an application during the term."""
    scope = actor_scope(scope)
    ag = session.get(FaAgreement, resp.agreement_id, execution_options=UNSCOPED)
    assert_collector(session, ag, scope)
    if resp.status != "applied":
        raise ConflictError("该申请已处理")
    if not approve:
        return reject_response(session, resp, reason or "", scope=scope)
    if ag.status != "active" or today() > ag.term_end:
        raise ConflictError("框架协议不在有效期内，不能加入")
    position = session.execute(select(func.coalesce(func.max(FaMember.rotation_position), 0))
                               .where(FaMember.agreement_id == ag.id), execution_options=UNSCOPED).scalar()
    resp.status = "shortlisted"
    member = _admit(session, ag, resp, position + 1)
    session.flush()
    audit.record(session, action="transition:admit", object_type="fa_member", object_id=member.id,
                 module=MODULE, region_id=ag.region_id)
    notices.issue(session, ag, "framework_change", f"member:{member.id}:join:{resp.id}",
                  f"{ag.name} 入围供应商变更公告（加入）",
                  f"{member.supplier.name} 经审核加入开放式框架协议，顺序轮候次序第 {member.rotation_position} 位。",
                  event_date=today())
    return resp


def exit_agreement(session: Session, member: FaMember, *, reason: str | None = None,
                   scope: Scope | None = None) -> FaMember:
    """Open agreement: a supplier exits at any time (exit notice)."""
    scope = actor_scope(scope)
    ag = session.get(FaAgreement, member.agreement_id, execution_options=UNSCOPED)
    if not is_platform(scope) and scope.org_id != member.supplier_id:
        assert_collector(session, ag, scope)
    if ag.form != "open":
        raise ConflictError("封闭式框架协议的入围供应商不能自行退出")
    if member.status != "active":
        raise ConflictError("该供应商已不在入围名单中")
    _leave(session, ag, member, "exited", None, reason)
    return member


def remove_member(session: Session, member: FaMember, cause: str, *, note: str | None = None,
                  scope: Scope | None = None) -> FaMember:
    """The collecting party removes a supplier for a listed cause (it may not rejoin)."""
    scope = actor_scope(scope)
    ag = session.get(FaAgreement, member.agreement_id, execution_options=UNSCOPED)
    assert_collector(session, ag, scope)
    if cause not in REMOVAL_CAUSES:
        raise RuleError({"cause": ["清退理由须为：" + "、".join(REMOVAL_CAUSES.values())]})
    if member.status != "active":
        raise ConflictError("该供应商已不在入围名单中")
    _leave(session, ag, member, "removed", cause, note)
    return member


def _leave(session: Session, ag: FaAgreement, member: FaMember, status: str, cause: str | None,
           note: str | None) -> None:
    member.status = status
    member.removal_cause = cause
    member.left_on = today()
    member.left_note = text(note) or None
    for line in session.execute(select(FaLine).where(FaLine.agreement_id == ag.id,
                                                     FaLine.supplier_id == member.supplier_id),
                                execution_options=UNSCOPED).scalars():
        line.active = False
    audit.record(session, action=f"transition:{'remove' if status == 'removed' else 'exit'}",
                 object_type="fa_member", object_id=member.id, reason=REMOVAL_CAUSES.get(cause or "", note),
                 module=MODULE, region_id=ag.region_id)
    word = f"因{REMOVAL_CAUSES[cause]}被清退，不得再次入围" if cause else "退出框架协议"
    notices.issue(session, ag, "framework_change", f"member:{member.id}:{status}",
                  f"{ag.name} 入围供应商变更公告（{'清退' if cause else '退出'}）",
                  f"{member.supplier.name}{word}。" + (f"说明：{text(note)}" if text(note) else ""),
                  event_date=today())


def start_supplement(session: Session, ag: FaAgreement, deadline: dt.datetime, *,
                     scope: Scope | None = None) -> FaAgreement:
    """补充征集 under the same conditions: a new round with its own deadline (≥ 20 days, closed)."""
    scope = actor_scope(scope)
    assert_collector(session, ag, scope)
    if ag.status not in ("evaluated", "active") or ag.form != "closed":
        raise ConflictError("只有有效期内的封闭式框架协议可以补充征集")
    if ag.round_deadline and now() <= ag.round_deadline:
        raise ConflictError("上一轮补充征集尚未截止")
    days = int(setting(session, "closed_response_days", ag.region_id))
    if not isinstance(deadline, dt.datetime) or deadline.date() < today() + dt.timedelta(days=days):
        raise RuleError({"deadline": [f"补充征集的响应期不得少于 {days} 日"]})
    if deadline.date() >= ag.term_end:
        raise RuleError({"deadline": ["补充征集应在协议期满前截止"]})
    ag.round += 1
    ag.round_deadline = deadline
    audit.record(session, action="transition:supplement", object_type="fa_agreement", object_id=ag.id,
                 after={"round": ag.round, "deadline": deadline}, module=MODULE, region_id=ag.region_id)
    notices.issue(session, ag, "framework_solicitation", f"agreement:{ag.id}:{ag.round}",
                  f"{ag.name} 补充征集公告（第 {ag.round} 轮）",
                  f"按原征集条件补充征集入围供应商，响应截止时间 {deadline:%Y-%m-%d %H:%M}。"
                  "已被清退的供应商不得参加。", event_date=today())
    return ag
