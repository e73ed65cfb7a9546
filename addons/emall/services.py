"""Business rules of the e-mall: plain Python on a SQLAlchemy session (no Flask request
objects), shared by the pages, the APIs, the CLI, the tests and other modules.

* catalog: :func:`validate_category` (codes, attribute templates);
* admission (入驻): unified conditions checked against the negative list of hidden barriers
  (:func:`negative_list_barrier`), applications, approve / reject / suspend / reinstate
  (:data:`ADMISSION_FLOW`);
* listings: :func:`validate_listing` (price <= reference, no duplicate brand + model per
  supplier, no exclusive model, attribute template), :data:`LISTING_FLOW`, images checked by
  magic bytes and size, the normalised search text;
* the public catalog: :func:`search_listings` (keyword, category subtree, attributes, price
  range, supplier, delivery region, pavilion; sorting; pagination);
* purchasing: the cart, :func:`checkout` (trading rules by amount, per-region settings:
  direct purchase / online price comparison / refused), :func:`place_order` (one order per
  supplier, stock reserved by an atomic conditional UPDATE), :data:`ORDER_FLOW` (placed,
  confirmed, shipped, delivered, accepted with an acceptance record and a procurement_base
  contract, paid, cancelled, disputed and resolved);
* online price comparison (竞价): publish, quote, close, award (lowest compliant quote);
* price monitoring: listings above their reference, order prices that are outliers in their
  category (median / MAD with pandas), in a review queue.

Extension points for other modules (the livestock pavilion, framework agreements):

* :data:`LISTING_VALIDATORS`: ``fn(listing, category)`` called whenever a listing is saved or
  submitted; raise :class:`RuleError` with ``{field: [Chinese message]}`` to refuse;
* :data:`ORDER_VALIDATORS`: ``fn(lines)`` called with the unsaved :class:`EmallOrderLine`
  objects of one order (each with ``.order``, ``.listing`` and ``.category``) before it is
  placed; raise :class:`RuleError` to refuse;
* :data:`PRICING`: ``name -> fn(line_request) -> Decimal`` unit-price strategies (``listing``,
  ``comparison``; a framework-agreement module registers ``framework``);
* :data:`CHANNELS`: ``name -> ChannelRule``: whether the amount bands of the trading rules
  apply to orders of that channel (a framework agreement's second stage has its own rules).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from addons.procurement_base import services as pb
from addons.procurement_base.models import Contract
from addons.procurement_base.services import DuplicateError, Errors, RuleError
from core.models import Organization, Region
from core.services import audit, settings, workdays
from core.services.money import fmt_yuan, to_money
from core.services.statemachine import StateMachine, Transition, TransitionError
from core.tenancy import SYSTEM, Scope, current_scope, use_scope

from .models import (
    ADMISSION_STATES,
    ATTRIBUTE_TYPES,
    COMPARISON_STATES,
    LISTING_STATES,
    ORDER_CHANNELS,
    ORDER_STATES,
    PAVILIONS,
    EmallAcceptance,
    EmallAdmission,
    EmallCartLine,
    EmallCategory,
    EmallComparison,
    EmallCondition,
    EmallListing,
    EmallListingImage,
    EmallListingRegion,
    EmallOrder,
    EmallOrderLine,
    EmallPriceAlert,
    EmallQuote,
)
from .models import (
    EmallAdmissionCategory as AC,
)

#: the institution's e-mall role; its users belong to centralized procurement institutions
INSTITUTION_ROLE = "电子卖场管理"
pb.register_actor_role("central_procurement", INSTITUTION_ROLE)
MODULE = "emall"
ZERO = Decimal("0.00")
CST = dt.timezone(dt.timedelta(hours=8), "CST")

__all__ = [
    "ADMISSION_FLOW",
    "CHANNELS",
    "LISTING_FLOW",
    "LISTING_VALIDATORS",
    "ORDER_FLOW",
    "ORDER_VALIDATORS",
    "PRICING",
    "ConflictError",
    "DuplicateError",
    "RuleError",
    "checkout",
    "place_order",
    "search_listings",
    "validate_category",
    "validate_listing",
]

# -- settings (per region; regulation or platform defaults, "(check)" in docs/emall.md) --------
settings.declare(
    "emall.direct_purchase_limit", type="decimal", default="50000",
    label_zh="电子卖场直购限额（元）",
    help_zh="一次下单金额不超过该限额的，直接向供应商下单（直购）。",
    source="电子卖场统一交易规则（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.comparison_upper_limit", type="decimal", default="1000000",
    label_zh="电子卖场竞价上限（元）",
    help_zh="超过直购限额、不超过该上限的，须网上竞价；超过上限的，电子卖场不予受理，应依法开展政府采购项目。",
    source="电子卖场统一交易规则；分散采购限额标准（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.quote_window_workdays", type="int", default="3",
    label_zh="竞价报价期（工作日）",
    help_zh="竞价发布后供应商报价的期限：发布次日起算的第 N 个工作日 17:00 截止。",
    source="电子卖场统一交易规则（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.comparison_min_quotes", type="int", default="3",
    label_zh="竞价有效报价最少家数",
    help_zh="有效报价不少于该家数时，自动由最低有效报价成交；少于该家数时，采购人须说明理由后确认成交，或撤销重新发布。",
    source="电子卖场统一交易规则（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.payment_due_workdays", type="int", default="10",
    label_zh="验收后付款期限（工作日）",
    help_zh="采购人应在验收合格之日起 N 个工作日内付款（不含验收当日）。",
    source="吉林省关于加快政府采购资金支付的要求（2024，待核对）", module=MODULE)
settings.declare(
    "emall.image_max_kb", type="int", default="2048",
    label_zh="商品图片大小上限（KB）", help_zh="仅接受 PNG、JPEG、WebP 图片。",
    source="平台默认值", module=MODULE)
settings.declare(
    "emall.images_per_listing", type="int", default="8",
    label_zh="每个商品的图片数量上限", source="平台默认值", module=MODULE)
settings.declare(
    "emall.outlier_threshold", type="decimal", default="3.5",
    label_zh="成交价异常阈值（稳健 Z 分数）",
    help_zh="同一分类成交单价的稳健 Z 分数 0.6745×(单价−中位数)/MAD 的绝对值超过该值即列入价格监测。",
    source="Iglewicz & Hoaglin (1993) 建议值 3.5", module=MODULE)
settings.declare(
    "emall.outlier_min_samples", type="int", default="5",
    label_zh="成交价异常检测的最少样本数", source="平台默认值", module=MODULE)


class ConflictError(RuleError):
    """A conflict with the current data (stock ran out, state changed): answered 409."""

    status = 409
    code = "conflict"


# -- extension points ---------------------------------------------------------------------------
LISTING_VALIDATORS: list[Callable[[EmallListing, EmallCategory], None]] = []
ORDER_VALIDATORS: list[Callable[[list[EmallOrderLine]], None]] = []


@dataclass(frozen=True)
class ChannelRule:
    """How the trading rules treat orders of a channel."""

    label: str
    #: the amount bands (direct / comparison / refused) apply to orders of this channel
    amount_bands: bool


CHANNELS: dict[str, ChannelRule] = {
    "direct": ChannelRule("直购", amount_bands=True),
    "comparison": ChannelRule("竞价", amount_bands=False),  # the band was decided at publishing
}
PRICING: dict[str, Callable[[dict[str, Any]], Decimal]] = {
    # a line request {"listing": EmallListing, "quantity": n, ...} -> unit price
    "listing": lambda req: req["listing"].price,
    "comparison": lambda req: to_money(req["unit_price"]),
}


# -- small helpers ----------------------------------------------------------------------------
def now() -> dt.datetime:
    """Now in Beijing time, naive (how the e-mall stores times)."""
    return dt.datetime.now(CST).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


_SPACE = re.compile(r"\s+")


def normalize(text: Any) -> str:
    """Search and duplicate key: NFKC (full-width -> half-width), case-folded, no spaces."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", _text(text)).casefold())


def _actor_scope(scope: Scope | None) -> Scope:
    return scope or current_scope()


def _privileged(scope: Scope, session: Session) -> bool:
    """The platform (admin, system) and the centralized procurement institution (集中采购机构,
    organisation type ``central_procurement``; commercial agencies are not)."""
    if scope.unrestricted:
        return True
    if scope.actor != "agency" or not scope.org_id:
        return False
    return session.execute(select(Organization.org_type).where(
        Organization.id == scope.org_id)).scalar() == "central_procurement"


def _own_units(session: Session, org_id: int | None) -> set[int]:
    if org_id is None:
        return set()
    rows = session.execute(select(Organization.id).where(
        or_(Organization.id == org_id, Organization.parent_id == org_id))).scalars()
    return set(rows)


def label(mapping: dict[str, str], value: Any) -> str:
    return mapping.get(value, value or "")


# -- catalog ------------------------------------------------------------------------------------
CATEGORY_CODE = re.compile(r"^[ABC](\d{2}){0,5}(-[0-9A-Za-z]{1,8})?$")
ATTR_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_attribute_template(errors: Errors, template: Any) -> list[dict[str, Any]] | None:
    if template in (None, ""):
        return None
    if not isinstance(template, list):
        errors.add("attributes", "属性模板须为列表")
        return None
    keys: set[str] = set()
    out = []
    for i, item in enumerate(template, start=1):
        where = f"第 {i} 个属性"
        if not isinstance(item, dict):
            errors.add("attributes", f"{where}须为对象（key、label、type …）")
            continue
        key, lab, typ = item.get("key"), _text(item.get("label")), item.get("type", "text")
        if not isinstance(key, str) or not ATTR_KEY.match(key):
            errors.add("attributes", f"{where}的标识（key）须为小写字母开头的字母、数字或下划线")
            continue
        if key in keys:
            errors.add("attributes", f"属性标识“{key}”重复")
        keys.add(key)
        if not lab:
            errors.add("attributes", f"属性“{key}”缺少中文名称（label）")
        if typ not in ATTRIBUTE_TYPES:
            errors.add("attributes", f"属性“{key}”的类型须为 text、number、choice 或 bool")
        choices = item.get("choices")
        if typ == "choice" and (not isinstance(choices, list) or not choices
                                or not all(isinstance(c, str) and c.strip() for c in choices)):
            errors.add("attributes", f"选项属性“{key}”须列出可选值（choices）")
        unknown = set(item) - {"key", "label", "type", "choices", "unit", "required"}
        if unknown:
            errors.add("attributes", f"属性“{key}”含未知字段：{'、'.join(sorted(unknown))}")
        out.append(item)
    return out


def validate_category(session: Session, cat: EmallCategory) -> None:
    """商品分类: a catalog code (or a sub-code) unique, a name, an attribute template, a
    known pavilion, no cycle in the tree."""
    errors = Errors()
    with session.no_autoflush:
        cat.code = _text(cat.code).upper() if cat.code else ""
        cat.name = _text(cat.name)
        if not cat.code:
            errors.add("code", "分类编码不能为空")
        elif not CATEGORY_CODE.match(cat.code):
            errors.add("code", "分类编码须为政府采购品目编码（如 A02010105），可加子编码（如 A02010105-01）")
        if not cat.name:
            errors.add("name", "分类名称不能为空")
        if cat.pavilion is not None and cat.pavilion not in PAVILIONS:
            errors.add("pavilion", f"行业馆只能是：{'、'.join(f'{k}（{v}）' for k, v in PAVILIONS.items())}，或留空")
        check_attribute_template(errors, cat.attributes)
        parent = cat.parent if cat.parent is not None else (
            session.get(EmallCategory, cat.parent_id) if cat.parent_id else None)
        seen = {cat.id} if cat.id else set()
        node = parent
        while node is not None:
            if node.id in seen:
                errors.add("parent", "上级分类不能是本分类或其下级分类")
                break
            seen.add(node.id)
            node = node.parent
        if cat.code and "code" not in errors:
            dup = session.execute(select(EmallCategory.id).where(
                EmallCategory.code == cat.code, EmallCategory.id != (cat.id or -1))).first()
            if dup:
                errors.add("code", f"分类编码“{cat.code}”已存在", duplicate=True)
    errors.raise_if_any()
    invalidate_category_tree()


def category_children(session: Session) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for cid, parent in session.execute(select(EmallCategory.id, EmallCategory.parent_id)):
        children.setdefault(parent, []).append(cid)
    return children


def category_subtree(session: Session, category_id: int) -> list[int]:
    children = category_children(session)
    out, todo = [], [category_id]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(children.get(c, ()))
    return out


def category_tree(session: Session, pavilion: str | None = "*") -> list[dict[str, Any]]:
    """Active categories as a nested tree (``pavilion="*"``: all; None: the general mall)."""
    stmt = select(EmallCategory).where(EmallCategory.active.is_(True)).order_by(
        EmallCategory.sequence, EmallCategory.code)
    if pavilion != "*":
        stmt = stmt.where(EmallCategory.pavilion.is_(None) if pavilion is None
                          else EmallCategory.pavilion == pavilion)
    cats = list(session.execute(stmt).scalars())
    nodes = {c.id: {"id": c.id, "code": c.code, "name": c.name, "pavilion": c.pavilion,
                    "requires_cold_chain": c.requires_cold_chain,
                    "attributes": c.attributes or [], "children": []} for c in cats}
    roots = []
    for c in cats:
        if c.parent_id in nodes:
            nodes[c.parent_id]["children"].append(nodes[c.id])
        else:
            roots.append(nodes[c.id])
    return roots


# -- admission (入驻) ------------------------------------------------------------------------------
#: the negative list of hidden barriers (隐性壁垒): label -> patterns
NEGATIVE_LIST: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("注册资本", re.compile(r"注册资本|注册资金|实缴资本")),
    ("资产规模", re.compile(r"资产总额|总资产|净资产|资产规模")),
    ("营业收入", re.compile(r"营业收入|营业额|销售额|年收入|营收|经营规模|年产值")),
    ("从业人员数量", re.compile(r"从业人员|员工人数|职工人数|人员规模|社保人数|员工数量|在职人数")),
    ("利润或纳税额", re.compile(r"利润|纳税额|纳税总额|税收贡献|纳税信用等级")),
    ("本地分支机构", re.compile(r"(本地|当地|本省|省内|本市|市内|吉林省?内?).{0,8}(分支机构|分公司|子公司|办事处|服务网点|网点|常驻机构|注册|设立机构)"
                               r"|(分支机构|分公司|办事处|服务网点).{0,6}(本地|当地|本省|省内|本市|市内)")),
    ("指定品牌、专利、商标或供应商", re.compile(r"品牌|商标|专利|指定(供应商|厂家|厂商|产品)")),
    ("制造商授权", re.compile(r"(制造商|厂家|厂商|原厂).{0,4}授权")),
    ("地方或行业奖项、业绩", re.compile(r"奖项|获奖|荣誉称号|业绩|纳税大户|名牌")),
)


def negative_list_barrier(*texts: Any) -> str | None:
    """The hidden barrier (negative-list label) a condition's wording sets, if any."""
    text = "".join(_text(t) for t in texts)
    for lab, pattern in NEGATIVE_LIST:
        if pattern.search(text):
            return lab
    return None


def validate_condition(session: Session, cond: EmallCondition) -> None:
    """入驻条件: a code, a name, a kind; never a negative-list barrier."""
    errors = Errors()
    with session.no_autoflush:
        cond.code = _text(cond.code)
        cond.name = _text(cond.name)
        if not cond.code:
            errors.add("code", "条件编码不能为空")
        elif not re.match(r"^[a-z][a-z0-9_]{0,31}$", cond.code):
            errors.add("code", "条件编码须为小写字母开头的字母、数字或下划线")
        if not cond.name:
            errors.add("name", "条件名称不能为空")
        if cond.kind not in ("document", "declaration"):
            errors.add("kind", "条件类型只能是提供材料（document）或承诺声明（declaration）")
        barrier = negative_list_barrier(cond.name, cond.description)
        if barrier:
            field = "name" if negative_list_barrier(cond.name) else "description"
            errors.add(field, f"不得以“{barrier}”作为入驻条件：属于政府采购隐性壁垒负面清单，"
                              "电子卖场入驻条件全省统一，不得设置此类门槛")
        if cond.code and "code" not in errors:
            dup = session.execute(select(EmallCondition.id).where(
                EmallCondition.code == cond.code, EmallCondition.id != (cond.id or -1))).first()
            if dup:
                errors.add("code", f"条件编码“{cond.code}”已存在", duplicate=True)
    errors.raise_if_any()


def active_conditions(session: Session) -> list[EmallCondition]:
    return list(session.execute(select(EmallCondition).where(EmallCondition.active.is_(True))
                                .order_by(EmallCondition.sequence, EmallCondition.id)).scalars())


def apply_for_admission(session: Session, supplier: Organization, *, answers: dict[str, Any],
                        category_ids: Iterable[int], contact: str | None = None,
                        phone: str | None = None, scope: Scope | None = None) -> EmallAdmission:
    """A supplier applies (or re-applies after a rejection, or changes its categories while
    admitted: back to review). Every required active condition must be answered."""
    scope = _actor_scope(scope)
    errors = Errors()
    if supplier is None or supplier.org_type != "supplier":
        errors.add("supplier", "只有供应商可以申请入驻电子卖场")
        errors.raise_if_any()
    if scope.actor == "supplier" and scope.org_id != supplier.id:
        errors.add("supplier", "只能为本单位申请入驻")
    answers = answers if isinstance(answers, dict) else {}
    clean: dict[str, Any] = {}
    for cond in active_conditions(session):
        value = answers.get(cond.code)
        if cond.kind == "declaration":
            if value is True:
                clean[cond.code] = True
            elif cond.required:
                errors.add(f"answers.{cond.code}", f"请确认承诺：{cond.name}")
        else:
            text = _text(value)
            if text:
                clean[cond.code] = text[:500]
            elif cond.required:
                errors.add(f"answers.{cond.code}", f"请提供材料：{cond.name}")
    ids = []
    for raw in category_ids or ():
        if isinstance(raw, bool) or not isinstance(raw, int):
            errors.add("categories", "请选择商品分类（分类编号）")
            break
        ids.append(raw)
    cats = list(session.execute(select(EmallCategory).where(EmallCategory.id.in_(ids),
                                                            EmallCategory.active.is_(True))).scalars())
    if not ids:
        errors.add("categories", "请至少选择一个经营的商品分类")
    elif len(cats) != len(set(ids)):
        errors.add("categories", "所选商品分类不存在或已停用")
    adm = session.execute(select(EmallAdmission).where(
        EmallAdmission.supplier_id == supplier.id)).scalar_one_or_none()
    if adm is not None and adm.status == "suspended":
        errors.add("status", "入驻资格暂停期间不能修改申请")
    errors.raise_if_any()
    if adm is None:
        adm = EmallAdmission(supplier_id=supplier.id, status="applied")
        session.add(adm)
    before = adm.status if adm.id else None
    adm.answers = clean
    adm.categories = cats
    adm.contact = _text(contact) or adm.contact
    adm.phone = _text(phone) or adm.phone
    adm.applied_at = now()
    if adm.status in ("rejected", "admitted"):
        ADMISSION_FLOW.trigger(adm, "reapply", session=session)
    session.flush()
    if before is None:
        audit.record(session, action="create", object_type="emall_admission", object_id=adm.id,
                     after={"supplier_id": supplier.id, "status": adm.status}, module=MODULE)
    return adm


def _g_suspend(adm: EmallAdmission, event: Any) -> str | None:
    until = event.ctx.get("until")
    if not isinstance(until, dt.date):
        return "请填写暂停截止日期"
    if until <= today():
        return "暂停截止日期须晚于今天"
    return None


ADMISSION_FLOW = StateMachine(
    field="status", states=ADMISSION_STATES, initial="applied", subject_zh="入驻申请",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("approve", "applied", "admitted", label_zh="批准入驻"),
        Transition("reject", "applied", "rejected", require_reason=True, label_zh="驳回"),
        Transition("suspend", "admitted", "suspended", require_reason=True, guard=_g_suspend,
                   label_zh="暂停资格"),
        Transition("reinstate", "suspended", "admitted", require_reason=True, label_zh="恢复资格"),
        Transition("reapply", ("rejected", "admitted"), "applied", label_zh="重新申请"),
    ],
)


def decide_admission(session: Session, adm: EmallAdmission, name: str, *, reason: str | None = None,
                     until: dt.date | None = None, scope: Scope | None = None,
                     actor: Any = None) -> None:
    """approve / reject / suspend / reinstate by the institution (audited)."""
    scope = _actor_scope(scope)
    if not _privileged(scope, session):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以审核入驻"]})
    if name not in ("approve", "reject", "suspend", "reinstate"):
        raise TransitionError(f"未知的操作“{name}”", status=422, code="unknown_transition",
                              transition=name, state=adm.status)
    ADMISSION_FLOW.trigger(adm, name, actor=actor, reason=_text(reason) or None, session=session,
                           until=until)
    adm.decided_at = now()
    adm.decided_by = audit.resolve_actor(actor)[0]
    adm.reason = _text(reason) or None
    adm.suspended_until = until if name == "suspend" else None
    session.flush()


def admitted_supplier_ids(session: Session, on: dt.date | None = None) -> Any:
    """SELECT of the suppliers admitted on ``on``: admitted, or suspended with an end date
    already passed (a suspension ends by itself the day after its end date)."""
    on = on or today()
    return select(EmallAdmission.supplier_id).where(or_(
        EmallAdmission.status == "admitted",
        and_(EmallAdmission.status == "suspended", EmallAdmission.suspended_until < on)))


def blocked_supplier_ids(session: Session, on: dt.date | None = None) -> Any:
    """SELECT of the suppliers whose admission is not in force on ``on`` (under review
    again, rejected, suspended): their listings leave the catalog. A listing only gets
    listed after its supplier was admitted, so "not blocked" is "admitted" for listings;
    the search uses this small set (``NOT IN``) instead of the large admitted one."""
    on = on or today()
    return select(EmallAdmission.supplier_id).where(
        EmallAdmission.status != "admitted",
        or_(EmallAdmission.status != "suspended", EmallAdmission.suspended_until.is_(None),
            EmallAdmission.suspended_until >= on))


def is_admitted(session: Session, supplier_id: int, category_id: int | None = None) -> bool:
    stmt = admitted_supplier_ids(session).where(EmallAdmission.supplier_id == supplier_id)
    if category_id is not None:
        cats = set(_ancestors(session, category_id))
        stmt = stmt.where(exists().where(AC.admission_id == EmallAdmission.id,
                                         AC.category_id.in_(cats)))
    return session.execute(stmt).first() is not None


def _ancestors(session: Session, category_id: int) -> list[int]:
    """The category and its ancestors (admission to a parent covers its children)."""
    parents = dict(session.execute(select(EmallCategory.id, EmallCategory.parent_id)).all())
    out, cur = [], category_id
    while cur is not None and cur not in out:
        out.append(cur)
        cur = parents.get(cur)
    return out


# -- listings ---------------------------------------------------------------------------------
EXCLUSIVE_WORDS = re.compile(r"专供|政府采购专用|政采专用|政采版|定制款|专属型号|独家型号")
REFERENCE_SOURCES = {"manufacturer": "厂商官方指导价", "market": "主流电商平台最低价"}


def check_listing_attributes(errors: Errors, category: EmallCategory, values: Any) -> dict[str, str]:
    """Values against the category's template; stored as text (numbers canonical, bool
    "true"/"false") so that filters compare alike on every database."""
    template = category.attributes or []
    values = values if isinstance(values, dict) else {}
    if values and not isinstance(values, dict):
        errors.add("attributes", "商品属性须为对象")
        return {}
    known = {a["key"]: a for a in template if isinstance(a, dict) and "key" in a}
    out: dict[str, str] = {}
    for key in values:
        if key not in known:
            errors.add(f"attributes.{key}", f"分类“{category.name}”没有属性“{key}”")
    for key, spec in known.items():
        raw = values.get(key)
        lab = spec.get("label") or key
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if spec.get("required"):
                errors.add(f"attributes.{key}", f"请填写{lab}")
            continue
        typ = spec.get("type", "text")
        if typ == "number":
            try:
                if isinstance(raw, (bool, float)):
                    raise ValueError
                num = Decimal(str(raw).strip())
                if not num.is_finite():
                    raise ValueError
            except (ArithmeticError, ValueError):
                errors.add(f"attributes.{key}", f"{lab}须为数值")
                continue
            out[key] = format(num.normalize(), "f")
        elif typ == "bool":
            if isinstance(raw, bool):
                out[key] = "true" if raw else "false"
            elif str(raw).strip().lower() in ("true", "1", "是", "yes"):
                out[key] = "true"
            elif str(raw).strip().lower() in ("false", "0", "否", "no"):
                out[key] = "false"
            else:
                errors.add(f"attributes.{key}", f"{lab}须为是或否")
        elif typ == "choice":
            text = _text(raw)
            if text not in (spec.get("choices") or []):
                errors.add(f"attributes.{key}", f"{lab}只能是：{'、'.join(spec.get('choices') or [])}")
                continue
            out[key] = text
        else:
            text = _text(raw)
            if len(text) > 200:
                errors.add(f"attributes.{key}", f"{lab}不能超过 200 个字符")
                continue
            out[key] = text
    return out


def search_text_of(listing: EmallListing, category: EmallCategory | None) -> str:
    parts = [listing.name, listing.brand, listing.model, category.name if category else "",
             *(v for v in (listing.attributes or {}).values() if v not in ("true", "false"))]
    return "|".join(normalize(p) for p in parts if p)


def _money(errors: Errors, field: str, value: Any, lab: str) -> Decimal | None:
    return pb.check_money(errors, field, value, lab)


def validate_listing(session: Session, listing: EmallListing, *, scope: Scope | None = None,
                     for_review: bool = False) -> None:
    """商品: the supplier's own, in an admitted category, attributes per template, price not
    above the reference, no duplicate brand + model of the same supplier, no exclusive
    model; derived: pavilion, normalised keys and search text. ``for_review``: also what
    submitting for review needs (delivery regions, stock)."""
    scope = _actor_scope(scope)
    errors = Errors()
    with session.no_autoflush:
        supplier = listing.supplier if listing.supplier is not None else (
            session.get(Organization, listing.supplier_id) if listing.supplier_id else None)
        if supplier is None and scope.actor == "supplier" and scope.org_id:
            supplier = session.get(Organization, scope.org_id)
            listing.supplier = supplier
        category = listing.category if listing.category is not None else (
            session.get(EmallCategory, listing.category_id) if listing.category_id else None)
        if supplier is None:
            errors.add("supplier", "请选择供应商")
        elif supplier.org_type != "supplier":
            errors.add("supplier", f"“{supplier.name}”不是供应商")
        elif scope.actor == "supplier" and scope.org_id != supplier.id:
            errors.add("supplier", "只能维护本单位的商品")
        elif not _privileged(scope, session) and scope.actor != "supplier":
            errors.add("supplier", "只有供应商可以维护商品")
        if category is None:
            errors.add("category", "请选择商品分类")
        elif not category.active:
            errors.add("category", f"商品分类“{category.name}”已停用")
        elif supplier is not None and supplier.org_type == "supplier" and not is_admitted(
                session, supplier.id, category.id):
            errors.add("category", f"供应商尚未获准在“{category.name}”分类入驻，不能发布该分类商品")
        listing.name = _text(listing.name)
        listing.brand = _text(listing.brand)
        listing.model = _text(listing.model)
        listing.unit = _text(listing.unit) or "件"
        for field, lab in (("name", "商品名称"), ("brand", "品牌"), ("model", "型号")):
            if not getattr(listing, field):
                errors.add(field, f"{lab}不能为空")
        price = _money(errors, "price", listing.price, "挂网价格")
        ref = _money(errors, "reference_price", listing.reference_price, "参考价")
        if price is not None:
            listing.price = price
        if ref is not None:
            listing.reference_price = ref
        if price is not None and ref is not None and price > ref:
            errors.add("price", f"挂网价格 {fmt_yuan(price)} 高于参考价 {fmt_yuan(ref)}："
                                "挂网价格不得高于厂商官方指导价或主流电商平台同型号最低价")
        listing.reference_source = listing.reference_source or "manufacturer"
        if listing.reference_source not in REFERENCE_SOURCES:
            errors.add("reference_source", "参考价来源只能是厂商官方指导价（manufacturer）或"
                                           "主流电商平台最低价（market）")
        if listing.stock is None:
            listing.stock = 0
        if isinstance(listing.stock, bool) or not isinstance(listing.stock, int) or listing.stock < 0:
            errors.add("stock", "库存须为不小于 0 的整数")
        if listing.exclusive_model:
            errors.add("model", "不得挂专供型号（仅供政府采购、市场上买不到的型号）")
        elif EXCLUSIVE_WORDS.search(f"{listing.name}{listing.model}"):
            errors.add("model", "不得挂专供型号：商品名称或型号含“专供/政采专用/定制款”等字样")
        if category is not None:
            listing.attributes = check_listing_attributes(errors, category, listing.attributes)
            listing.pavilion = category.pavilion
        listing.brand_key = normalize(listing.brand)
        listing.model_key = normalize(listing.model)
        if supplier is not None and listing.brand and listing.model:
            dup = session.execute(select(EmallListing.id).where(
                EmallListing.supplier_id == supplier.id, EmallListing.brand_key == listing.brand_key,
                EmallListing.model_key == listing.model_key,
                EmallListing.id != (listing.id or -1))).first()
            if dup:
                errors.add("model", f"本供应商已挂有“{listing.brand} {listing.model}”（商品编号 {dup[0]}），"
                                    "同一品牌型号不得重复挂网", duplicate=True)
        if for_review:
            if not listing.regions:
                errors.add("regions", "请选择供货地区")
            if not listing.stock:
                errors.add("stock", "库存为 0 的商品不能提交上架")
        listing.search_text = search_text_of(listing, category)
        listing.updated_at = now()
        if listing.created_at is None:
            listing.created_at = listing.updated_at
        if listing.status is None:
            listing.status = "draft"
    errors.raise_if_any()
    for fn in LISTING_VALIDATORS:
        fn(listing, category)


def _g_reviewable(listing: EmallListing, event: Any) -> str | None:
    session = event.ctx.get("session")
    try:
        validate_listing(session, listing, for_review=True)
    except RuleError as exc:
        return "；".join(m for msgs in exc.messages.values() for m in msgs)
    return None


def _g_supplier_admitted(listing: EmallListing, event: Any) -> str | None:
    session = event.ctx.get("session")
    if not is_admitted(session, listing.supplier_id, listing.category_id):
        return "供应商入驻资格无效（未批准或已暂停），商品不能上架"
    return None


LISTING_FLOW = StateMachine(
    field="status", states=LISTING_STATES, initial="draft", subject_zh="商品",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("submit", ("draft", "delisted"), "review", guard=_g_reviewable, label_zh="提交审核"),
        Transition("approve", "review", "listed", guard=[_g_reviewable, _g_supplier_admitted],
                   label_zh="审核通过上架"),
        Transition("reject", "review", "draft", require_reason=True, label_zh="审核退回"),
        Transition("delist", ("listed", "review"), "delisted", label_zh="下架"),
    ],
)
LISTING_ACTORS = {"submit": "supplier", "approve": "agency", "reject": "agency", "delist": "any"}


def transition_listing(session: Session, listing: EmallListing, name: str, *,
                       reason: str | None = None, scope: Scope | None = None, actor: Any = None) -> None:
    scope = _actor_scope(scope)
    who = LISTING_ACTORS.get(name)
    if who == "agency" and not _privileged(scope, session):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以审核商品"]})
    if who == "supplier" and not (_privileged(scope, session) or (
            scope.actor == "supplier" and scope.org_id == listing.supplier_id)):
        raise RuleError({"status": ["只能提交本单位的商品"]})
    if who == "any" and not (_privileged(scope, session) or scope.org_id == listing.supplier_id):
        raise RuleError({"status": ["只能下架本单位的商品"]})
    with use_scope(scope):
        LISTING_FLOW.trigger(listing, name, actor=actor, reason=_text(reason) or None,
                             session=session)
    if name == "approve":
        listing.listed_at = now()
    if name in ("reject", "delist"):
        listing.review_note = _text(reason) or listing.review_note
    session.flush()


def set_listing_regions(session: Session, listing: EmallListing, region_ids: Iterable[Any]) -> None:
    errors = Errors()
    ids = []
    for raw in region_ids or ():
        if isinstance(raw, bool) or not isinstance(raw, int):
            errors.add("regions", "请填写地区编号列表")
            errors.raise_if_any()
        ids.append(raw)
    regions = list(session.execute(select(Region).where(Region.id.in_(ids))).scalars()) if ids else []
    if len(regions) != len(set(ids)):
        errors.add("regions", "所选地区不存在")
    errors.raise_if_any()
    listing.regions = regions


# images ------------------------------------------------------------------------------------------
IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def image_type(data: bytes) -> str | None:
    """png / jpeg / webp by magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def add_image(session: Session, listing: EmallListing, data: bytes, filename: str | None,
              folder: Path, *, scope: Scope | None = None) -> EmallListingImage:
    """Store an image under ``folder`` (content-addressed) after checking type and size."""
    scope = _actor_scope(scope)
    if not (_privileged(scope, session) or scope.org_id == listing.supplier_id):
        raise RuleError({"image": ["只能为本单位的商品上传图片"]})
    limit_kb = settings.get("emall.image_max_kb", session=session)
    kind = image_type(data)
    if not data:
        raise RuleError({"image": ["请选择图片文件"]})
    if kind is None:
        raise RuleError({"image": ["只接受 PNG、JPEG 或 WebP 格式的图片（按文件内容识别）"]})
    if len(data) > limit_kb * 1024:
        raise RuleError({"image": [f"图片不能超过 {limit_kb} KB（当前 {len(data) // 1024} KB）"]})
    count = session.execute(select(func.count(EmallListingImage.id)).where(
        EmallListingImage.listing_id == listing.id)).scalar_one()
    most = settings.get("emall.images_per_listing", session=session)
    if count >= most:
        raise RuleError({"image": [f"每个商品最多 {most} 张图片"]})
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{digest[:2]}/{digest}.{kind}"
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    img = EmallListingImage(listing_id=listing.id, path=rel, content_type=IMAGE_TYPES[kind],
                            size=len(data), sha256=digest, filename=_text(filename)[:200] or None,
                            sequence=(count + 1) * 10)
    session.add(img)
    session.flush()
    return img


# -- the public catalog ---------------------------------------------------------------------------
SORTS = {
    "newest": (EmallListing.id.desc(),),
    "price_asc": (EmallListing.price.asc(), EmallListing.id.asc()),
    "price_desc": (EmallListing.price.desc(), EmallListing.id.desc()),
    "name": (EmallListing.name.asc(), EmallListing.id.asc()),
}
MAX_PAGE_SIZE = 100


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


UNSCOPED = {"erp_unscoped": True}  # listings, categories, organisations: not region-scoped


def region_and_ancestors(session: Session, region_id: int) -> list[int]:
    """The region and its ancestors (the worker's cached region tree inside the app)."""
    try:
        from flask import has_app_context

        if has_app_context():
            from core.tenancy import snapshot

            snap = snapshot()
            return snap.ancestors(region_id) if region_id in snap.code_of else []
    except (ImportError, KeyError, AttributeError):
        pass
    parents = dict(session.execute(select(Region.id, Region.parent_id)).all())
    out, cur = [], region_id
    while cur is not None and cur not in out:
        out.append(cur)
        cur = parents.get(cur)
    return out


_TREE_CACHE: dict[str, Any] = {"at": -1.0, "children": {}, "db": None}
TREE_TTL = 30.0  # seconds a worker trusts its copy of the category tree


def _children_cached(session: Session) -> dict[int | None, list[int]]:
    """The category tree (parent -> children) of this worker: re-read when a category was
    added (count or highest id changed), after a category is saved in this worker, and at
    least every :data:`TREE_TTL` seconds (a parent changed in another worker)."""
    import time

    now_ = time.monotonic()
    # a new category anywhere (another worker, a module install) changes count or max(id)
    stamp = tuple(session.execute(select(func.count(EmallCategory.id), func.max(EmallCategory.id)),
                                  execution_options={"erp_unscoped": True}).one())
    db_key = (str(session.get_bind().url), stamp)
    if now_ - _TREE_CACHE["at"] > TREE_TTL or _TREE_CACHE["db"] != db_key:
        children: dict[int | None, list[int]] = {}
        for cid, parent in session.execute(select(EmallCategory.id, EmallCategory.parent_id),
                                           execution_options={"erp_unscoped": True}):
            children.setdefault(parent, []).append(cid)
        _TREE_CACHE.update(at=now_, children=children, db=db_key)
    return _TREE_CACHE["children"]


def invalidate_category_tree() -> None:
    _TREE_CACHE["at"] = -1.0


def subtree_ids(session: Session, category_id: int) -> list[int]:
    """A category and its descendants, as literal ids: the planner then uses the
    ``(status, category_id, price)`` index on both databases."""
    children = _children_cached(session)
    out, todo = [], [category_id]
    while todo:
        c = todo.pop()
        if c in out:
            continue
        out.append(c)
        todo.extend(children.get(c, ()))
    return out


def keyword_clause(session: Session, term: str) -> Any:
    """``search_text`` contains the normalised term: ``instr`` on SQLite (faster than LIKE),
    ``LIKE '%term%'`` on PostgreSQL (served by a pg_trgm index when one exists)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(EmallListing.search_text, term) > 0
    return EmallListing.search_text.like(f"%{_like_escape(term)}%", escape="\\")


def search_statement(session: Session, *, q: str | None = None, category_id: int | None = None,
                     pavilion: str | None = None, attrs: dict[str, str] | None = None,
                     price_min: Decimal | None = None, price_max: Decimal | None = None,
                     supplier_id: int | None = None, region_id: int | None = None,
                     cold_chain: bool | None = None) -> Any:
    """The WHERE of a catalog search (listed, supplier admitted) as a SELECT of ids."""
    L = EmallListing
    stmt = select(L.id).where(L.status == "listed",
                              L.supplier_id.not_in(blocked_supplier_ids(session)))
    for term in (q or "").split():
        t = normalize(term)
        if t:
            stmt = stmt.where(keyword_clause(session, t))
    if category_id is not None:
        ids = subtree_ids(session, category_id)
        stmt = stmt.where(L.category_id == ids[0] if len(ids) == 1 else L.category_id.in_(ids))
    if pavilion is not None:
        stmt = stmt.where(L.pavilion.is_(None) if pavilion == "" else L.pavilion == pavilion)
    for key, value in (attrs or {}).items():
        stmt = stmt.where(L.attributes[key].as_string() == value)
    if price_min is not None:
        stmt = stmt.where(L.price >= price_min)
    if price_max is not None:
        stmt = stmt.where(L.price <= price_max)
    if supplier_id is not None:
        stmt = stmt.where(L.supplier_id == supplier_id)
    if cold_chain is not None:
        stmt = stmt.where(L.cold_chain.is_(cold_chain))
    if region_id is not None:
        covering = region_and_ancestors(session, region_id)
        stmt = stmt.where(exists().where(EmallListingRegion.listing_id == L.id,
                                         EmallListingRegion.region_id.in_(covering)))
    return stmt


class CatalogRow(dict):
    """A search hit as a mapping that code and templates can also read with dots
    (``x.category.name``), like the listing object it stands for."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _page_rows(session: Session, ids: list[int]) -> list[CatalogRow]:
    """The listings of a result page in two statements (listing + category + supplier,
    then images)."""
    L, C = EmallListing, EmallCategory
    rows = session.execute(
        select(L.id, L.name, L.brand, L.model, L.unit, L.price, L.reference_price, L.reference_source,
               L.stock, L.cold_chain, L.pavilion, C.id, C.code, C.name, Organization.id, Organization.name)
        .join(C, C.id == L.category_id).join(Organization, Organization.id == L.supplier_id)
        .where(L.id.in_(ids)), execution_options=UNSCOPED).all()
    images: dict[int, list[str]] = {}
    for img_id, lid in session.execute(
            select(EmallListingImage.id, EmallListingImage.listing_id)
            .where(EmallListingImage.listing_id.in_(ids))
            .order_by(EmallListingImage.sequence, EmallListingImage.id), execution_options=UNSCOPED):
        images.setdefault(lid, []).append(f"/emall/image/{img_id}")
    out = {}
    for (lid, name, brand, model, unit, price, ref, src, stock, cold, pav, cid, ccode, cname, sid,
         sname) in rows:
        out[lid] = CatalogRow(
            id=lid, name=name, brand=brand, model=model, unit=unit, price=str(price),
            reference_price=str(ref), reference_source=src, stock=stock, cold_chain=cold, pavilion=pav,
            category=CatalogRow(id=cid, code=ccode, name=cname), supplier=CatalogRow(id=sid, name=sname),
            images=images.get(lid, []))
    return [out[i] for i in ids if i in out]


def search_listings(session: Session, *, sort: str = "newest", page: int = 0, page_size: int = 20,
                    **filters: Any) -> tuple[int, list[CatalogRow]]:
    """(total, the page's hits as mappings shaped like :func:`listing_dict`). Filters: see
    :func:`search_statement`; ``pavilion`` "" = the general mall only, None = everything.
    Four statements: count, page ids, page rows, images."""
    base = search_statement(session, **filters)
    total = session.execute(select(func.count()).select_from(base.subquery()),
                            execution_options=UNSCOPED).scalar_one()
    order = SORTS.get(sort, SORTS["newest"])
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    ids_stmt = base.order_by(*order).limit(page_size).offset(max(0, page) * page_size)
    ids = [r[0] for r in session.execute(ids_stmt, execution_options=UNSCOPED)]
    if not ids:
        return total, []
    return total, _page_rows(session, ids)


def public_listing(session: Session, listing_id: int) -> EmallListing | None:
    """A listing as the public sees it (listed, supplier admitted), else None."""
    stmt = search_statement(session).where(EmallListing.id == listing_id)
    if session.execute(stmt, execution_options=UNSCOPED).first() is None:
        return None
    return session.get(EmallListing, listing_id)


def listing_dict(x: EmallListing, *, detail: bool = False) -> dict[str, Any]:
    if isinstance(x, CatalogRow):
        return dict(x, category=dict(x.category), supplier=dict(x.supplier))
    out = {
        "id": x.id, "name": x.name, "brand": x.brand, "model": x.model, "unit": x.unit,
        "price": str(x.price), "reference_price": str(x.reference_price),
        "reference_source": x.reference_source, "stock": x.stock, "cold_chain": x.cold_chain,
        "pavilion": x.pavilion,
        "category": {"id": x.category.id, "code": x.category.code, "name": x.category.name},
        "supplier": {"id": x.supplier.id, "name": x.supplier.name},
        "images": [f"/emall/image/{i.id}" for i in x.images],
    }
    if detail:
        template = {a["key"]: a for a in (x.category.attributes or []) if "key" in a}
        out["attributes"] = [
            {"key": k, "label": template.get(k, {}).get("label", k), "value": v,
             "unit": template.get(k, {}).get("unit")}
            for k, v in (x.attributes or {}).items()]
        out["description"] = x.description
        out["regions"] = [{"id": r.id, "code": r.code, "name": r.name} for r in x.regions]
        out["reference_url"] = x.reference_url
    return out


# -- trading rules ---------------------------------------------------------------------------------
def trading_band(session: Session, amount: Decimal, region_id: int | None) -> str:
    """direct (amount <= direct limit), comparison (<= upper limit) or refused."""
    direct = settings.get("emall.direct_purchase_limit", region_id, session=session)
    upper = settings.get("emall.comparison_upper_limit", region_id, session=session)
    if amount <= direct:
        return "direct"
    if amount <= upper:
        return "comparison"
    return "refused"


def refusal_message(session: Session, amount: Decimal, region_id: int | None) -> str:
    upper = settings.get("emall.comparison_upper_limit", region_id, session=session)
    return (f"本次采购金额 {fmt_yuan(amount)} 超过电子卖场竞价上限 {fmt_yuan(to_money(upper))}，"
            "电子卖场不予受理：请依法开展政府采购项目（如公开招标、竞争性谈判等）")


# -- cart --------------------------------------------------------------------------------------------
def _purchaser_of(session: Session, scope: Scope) -> Organization:
    org = session.get(Organization, scope.org_id) if scope.org_id else None
    if org is None or scope.actor != "purchaser":
        raise RuleError({"purchaser": ["只有采购人可以在电子卖场下单"]})
    return org


def cart_add(session: Session, user_id: int, listing_id: Any, quantity: Any, *,
             scope: Scope | None = None) -> EmallCartLine:
    scope = _actor_scope(scope)
    _purchaser_of(session, scope)
    errors = Errors()
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        errors.add("quantity", "数量须为正整数")
    listing = public_listing(session, listing_id) if isinstance(listing_id, int) and not isinstance(
        listing_id, bool) else None
    if listing is None:
        errors.add("listing", "商品不存在或未上架")
    errors.raise_if_any()
    line = session.execute(select(EmallCartLine).where(
        EmallCartLine.user_id == user_id, EmallCartLine.listing_id == listing.id)).scalar_one_or_none()
    if line is None:
        line = EmallCartLine(user_id=user_id, listing_id=listing.id, quantity=0, added_at=now())
        session.add(line)
    line.quantity = (line.quantity or 0) + quantity
    session.flush()
    return line


def cart_lines(session: Session, user_id: int) -> list[EmallCartLine]:
    return list(session.execute(select(EmallCartLine).where(EmallCartLine.user_id == user_id)
                                .order_by(EmallCartLine.id)
                                .options(selectinload(EmallCartLine.listing))).scalars())


def _line_requests(session: Session, items: Iterable[dict[str, Any]], region_id: int,
                   errors: Errors) -> list[dict[str, Any]]:
    """[{"listing": id, "quantity": n}] -> checked requests with the listing objects."""
    reqs = []
    covering = set(region_and_ancestors(session, region_id))
    for i, item in enumerate(items, start=1):
        where = f"lines.{i}"
        if not isinstance(item, dict):
            errors.add(where, "每一行须包含商品（listing）和数量（quantity）")
            continue
        lid, qty = item.get("listing"), item.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            errors.add(f"{where}.quantity", "数量须为正整数")
            continue
        listing = public_listing(session, lid) if isinstance(lid, int) and not isinstance(lid, bool) else None
        if listing is None:
            errors.add(f"{where}.listing", "商品不存在、未上架或供应商资格已暂停")
            continue
        if not covering & {r.id for r in listing.regions}:
            errors.add(f"{where}.listing", f"“{listing.name}”不向本地区供货")
            continue
        reqs.append({"listing": listing, "quantity": qty})
    if not reqs and not errors.messages:
        errors.add("lines", "请至少选择一件商品")
    return reqs


def checkout(session: Session, user_id: int, *, delivery_address: str | None = None,
             contact: str | None = None, phone: str | None = None, note: str | None = None,
             title: str | None = None, requirements: str | None = None,
             scope: Scope | None = None) -> dict[str, Any]:
    """The cart -> one order per supplier (direct purchase), or one price comparison (竞价),
    or a refusal, by the trading rule for the cart's total in the purchaser's region (the
    whole checkout counts: splitting a purchase across suppliers does not change its band)."""
    scope = _actor_scope(scope)
    purchaser = _purchaser_of(session, scope)
    lines = cart_lines(session, user_id)
    errors = Errors()
    reqs = _line_requests(session, [{"listing": c.listing_id, "quantity": c.quantity} for c in lines],
                          purchaser.region_id, errors)
    errors.raise_if_any()
    total = sum((r["listing"].price * r["quantity"] for r in reqs), ZERO)
    band = trading_band(session, total, purchaser.region_id)
    if band == "refused":
        raise RuleError({"amount": [refusal_message(session, total, purchaser.region_id)]})
    if band == "comparison":
        comp = publish_comparison(session, purchaser, reqs, user_id=user_id, title=title,
                                  delivery_address=delivery_address, requirements=requirements,
                                  scope=scope)
        for c in lines:
            session.delete(c)
        session.flush()
        return {"mode": "comparison", "amount": total, "comparison": comp, "orders": []}
    by_supplier: dict[int, list[dict[str, Any]]] = {}
    for r in reqs:
        by_supplier.setdefault(r["listing"].supplier_id, []).append(r)
    orders = []
    for supplier_id in sorted(by_supplier):
        orders.append(place_order(session, purchaser, session.get(Organization, supplier_id),
                                  by_supplier[supplier_id], user_id=user_id,
                                  delivery_address=delivery_address, contact=contact, phone=phone,
                                  note=note, scope=scope))
    for c in lines:
        session.delete(c)
    session.flush()
    return {"mode": "direct", "amount": total, "orders": orders, "comparison": None}


def _order_number(session: Session, region_id: int) -> str:
    """DM + region code + date + 8 random hex digits (unique across workers without a
    counter row that every order would have to lock)."""
    code = session.execute(select(Region.code).where(Region.id == region_id)).scalar_one()
    return f"DM{code}{now():%Y%m%d}{secrets.token_hex(4).upper()}"


def reserve_stock(session: Session, listing_id: int, quantity: int, name: str) -> None:
    """Atomic conditional decrement: ``stock = stock - n WHERE stock >= n``; 409 when the
    stock is short (the caller's transaction rolls back, so nothing is kept)."""
    res = session.execute(
        update(EmallListing).where(EmallListing.id == listing_id, EmallListing.stock >= quantity)
        .values(stock=EmallListing.stock - quantity).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        left = session.execute(select(EmallListing.stock).where(EmallListing.id == listing_id)).scalar()
        raise ConflictError({"stock": [f"“{name}”库存不足：剩余 {left or 0}，需要 {quantity}"]})


def release_stock(session: Session, order: EmallOrder) -> None:
    for line in order.lines:
        session.execute(update(EmallListing).where(EmallListing.id == line.listing_id)
                        .values(stock=EmallListing.stock + line.quantity)
                        .execution_options(synchronize_session=False))


def place_order(session: Session, purchaser: Organization, supplier: Organization,
                reqs: Sequence[dict[str, Any]], *, channel: str = "direct", pricing: str = "listing",
                source_ref: str | None = None, comparison_id: int | None = None,
                user_id: int | None = None, delivery_address: str | None = None,
                contact: str | None = None, phone: str | None = None, note: str | None = None,
                scope: Scope | None = None, check_band: bool = True) -> EmallOrder:
    """One order with one supplier. ``reqs``: [{"listing": EmallListing, "quantity": n, ...}]
    (a pricing strategy may read more keys). Stock is reserved line by line (listing id
    order, so concurrent orders never deadlock); ORDER_VALIDATORS run before anything is
    written; the trading rule applies when the channel's rule says so."""
    if channel not in CHANNELS:
        raise RuleError({"channel": [f"未知的下单渠道“{channel}”"]})
    if pricing not in PRICING:
        raise RuleError({"pricing": [f"未知的定价方式“{pricing}”"]})
    errors = Errors()
    for r in reqs:
        if r["listing"].supplier_id != supplier.id:
            errors.add("lines", f"“{r['listing'].name}”不是该供应商的商品：一个订单只能有一个供应商")
    errors.raise_if_any()
    order = EmallOrder(purchaser_id=purchaser.id, supplier_id=supplier.id, region_id=purchaser.region_id,
                       user_id=user_id, channel=channel, pricing=pricing, source_ref=source_ref,
                       comparison_id=comparison_id, status="placed",
                       delivery_address=_text(delivery_address) or purchaser.address,
                       contact=_text(contact) or None, phone=_text(phone) or None,
                       note=_text(note) or None)
    lines = []
    for r in sorted(reqs, key=lambda r: r["listing"].id):
        listing = r["listing"]
        unit_price = to_money(PRICING[pricing](r))
        line = EmallOrderLine(order=order, listing_id=listing.id, category_id=listing.category_id,
                              supplier_id=supplier.id, purchaser_id=purchaser.id,
                              region_id=purchaser.region_id, name=listing.name, brand=listing.brand,
                              model=listing.model, unit=listing.unit, quantity=r["quantity"],
                              unit_price=unit_price, listed_price=listing.price,
                              reference_price=listing.reference_price,
                              amount=to_money(unit_price * r["quantity"]), cold_chain=listing.cold_chain)
        line.listing = listing
        line.category = listing.category
        lines.append(line)
    order.amount = sum((ln.amount for ln in lines), ZERO)
    if check_band and CHANNELS[channel].amount_bands:
        band = trading_band(session, order.amount, purchaser.region_id)
        if band == "refused":
            raise RuleError({"amount": [refusal_message(session, order.amount, purchaser.region_id)]})
        if band == "comparison":
            direct = settings.get("emall.direct_purchase_limit", purchaser.region_id, session=session)
            raise RuleError({"amount": [
                f"订单金额 {fmt_yuan(order.amount)} 超过直购限额 {fmt_yuan(to_money(direct))}，"
                "须通过购物车结算发起网上竞价"]})
    for fn in ORDER_VALIDATORS:
        fn(lines)
    for line in lines:
        reserve_stock(session, line.listing_id, line.quantity, line.name)
    order.number = _order_number(session, purchaser.region_id)
    order.placed_at = now()
    session.add(order)
    session.flush()
    audit.record(session, action="create", object_type="emall_order", object_id=order.id,
                 after={"number": order.number, "amount": order.amount, "channel": channel,
                        "supplier_id": supplier.id, "purchaser_id": purchaser.id},
                 module=MODULE, region_id=order.region_id)
    return order


def buy_now(session: Session, user_id: int, items: list[dict[str, Any]], *,
            delivery_address: str | None = None, contact: str | None = None,
            phone: str | None = None, note: str | None = None,
            scope: Scope | None = None) -> EmallOrder:
    """A direct order of listings of one supplier, without the cart (POST /emall_order/)."""
    scope = _actor_scope(scope)
    purchaser = _purchaser_of(session, scope)
    errors = Errors()
    if not isinstance(items, list):
        errors.add("lines", "请填写订单行：[{listing, quantity}]")
        errors.raise_if_any()
    reqs = _line_requests(session, items, purchaser.region_id, errors)
    errors.raise_if_any()
    suppliers = {r["listing"].supplier_id for r in reqs}
    if len(suppliers) != 1:
        raise RuleError({"lines": ["一个订单只能包含同一供应商的商品；多个供应商请使用购物车结算"]})
    return place_order(session, purchaser, session.get(Organization, suppliers.pop()), reqs,
                       user_id=user_id, delivery_address=delivery_address, contact=contact,
                       phone=phone, note=note, scope=scope)


# -- order lifecycle -----------------------------------------------------------------------------
def _g_acceptance(order: EmallOrder, event: Any) -> str | None:
    rec = event.ctx.get("acceptance")
    if not isinstance(rec, dict):
        return "请填写验收记录"
    if not _text(rec.get("inspectors")):
        return "请填写验收人员"
    on = rec.get("accepted_on")
    if not isinstance(on, dt.date):
        return "请填写验收日期"
    if on > today():
        return "验收日期不能晚于今天"
    if order.delivered_at and on < order.delivered_at.date():
        return "验收日期不能早于送达日期"
    if rec.get("quantity_ok") is False or rec.get("quality_ok") is False:
        return "数量或质量不合格的，不能验收通过：请发起争议"
    return None


def _g_paid(order: EmallOrder, event: Any) -> str | None:
    on = event.ctx.get("paid_on")
    if not isinstance(on, dt.date):
        return "请填写付款日期"
    if on > today():
        return "付款日期不能晚于今天"
    if order.accepted_on and on < order.accepted_on:
        return "付款日期不能早于验收日期"
    return None


ORDER_FLOW = StateMachine(
    field="status", states=ORDER_STATES, initial="placed", subject_zh="订单",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("confirm", "placed", "confirmed", label_zh="确认订单"),
        Transition("ship", "confirmed", "shipped", label_zh="发货"),
        Transition("deliver", "shipped", "delivered", label_zh="确认送达"),
        Transition("accept", "delivered", "accepted", guard=_g_acceptance, label_zh="验收"),
        Transition("pay", "accepted", "paid", guard=_g_paid, label_zh="付款"),
        Transition("cancel", ("placed", "confirmed"), "cancelled", require_reason=True,
                   label_zh="取消订单"),
        Transition("dispute", ("confirmed", "shipped", "delivered", "accepted"), "disputed",
                   require_reason=True, label_zh="发起争议"),
        Transition("resume_confirmed", "disputed", "confirmed", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resume_shipped", "disputed", "shipped", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resume_delivered", "disputed", "delivered", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resume_accepted", "disputed", "accepted", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resolve_cancel", "disputed", "cancelled", require_reason=True,
                   label_zh="争议解决：取消订单"),
    ],
)
#: who may trigger each order transition
ORDER_ACTORS = {"confirm": {"supplier"}, "ship": {"supplier"}, "deliver": {"supplier", "purchaser"},
                "accept": {"purchaser"}, "pay": {"purchaser"}, "cancel": {"supplier", "purchaser"},
                "dispute": {"supplier", "purchaser"}, "resolve": {"agency"}}


def _order_role(session: Session, order: EmallOrder, scope: Scope) -> str | None:
    if _privileged(scope, session):
        return "agency"
    if scope.actor == "supplier" and scope.org_id == order.supplier_id:
        return "supplier"
    if scope.actor == "purchaser" and order.purchaser_id in _own_units(session, scope.org_id):
        return "purchaser"
    return None


def lock_order(session: Session, order_id: int) -> EmallOrder | None:
    """The order locked for the transaction (``FOR UPDATE``; SQLite serialises writers)."""
    return session.execute(select(EmallOrder).where(EmallOrder.id == order_id)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def transition_order(session: Session, order: EmallOrder, name: str, *, reason: str | None = None,
                     tracking: str | None = None, acceptance: dict[str, Any] | None = None,
                     paid_on: dt.date | None = None, payment_ref: str | None = None,
                     outcome: str | None = None, scope: Scope | None = None, actor: Any = None) -> None:
    """Move an order (audited). ``resolve`` with ``outcome`` continue / cancel picks the
    resolution transition; cancelling releases the reserved stock; acceptance writes the
    acceptance record and the contract; payment the contract's payment."""
    scope = _actor_scope(scope)
    role = _order_role(session, order, scope)
    key = "resolve" if name == "resolve" else name
    allowed = ORDER_ACTORS.get(key)
    if allowed is None:
        raise TransitionError(f"未知的操作“{name}”", status=422, code="unknown_transition",
                              transition=name, state=order.status)
    if role is None or (role != "agency" and role not in allowed):
        raise RuleError({"status": [f"您不能对该订单执行“{ORDER_FLOW.transition_label(name) if name != 'resolve' else '争议处理'}”"]})
    if name == "resolve":
        if outcome not in ("continue", "cancel"):
            raise RuleError({"outcome": ["请选择处理结果：继续履行（continue）或取消订单（cancel）"]})
        if order.status != "disputed":
            raise TransitionError(f"订单状态为“{ORDER_STATES.get(order.status)}”，不能执行“争议处理”",
                                  status=409, code="invalid_state", transition=name, state=order.status)
        name = "resolve_cancel" if outcome == "cancel" else f"resume_{order.disputed_from or 'confirmed'}"
    source = order.status
    ctx: dict[str, Any] = {}
    if name == "accept":
        ctx["acceptance"] = acceptance
    if name == "pay":
        ctx["paid_on"] = paid_on
    ORDER_FLOW.trigger(order, name, actor=actor, reason=_text(reason) or None, session=session,
                       **ctx)
    stamp = now()
    if name == "confirm":
        order.confirmed_at = stamp
    elif name == "ship":
        order.shipped_at = stamp
        order.tracking = _text(tracking) or None
    elif name == "deliver":
        order.delivered_at = stamp
    elif name == "accept":
        _accept(session, order, acceptance or {}, actor)
    elif name == "pay":
        _pay(session, order, paid_on, payment_ref)
    elif name == "dispute":
        order.disputed_from = source
    if name in ("cancel", "resolve_cancel"):
        order.cancelled_at = stamp
        release_stock(session, order)
        if order.contract_id:
            contract = session.get(Contract, order.contract_id)
            if contract is not None and contract.status not in ("completed", "terminated"):
                pb.transition_contract(session, contract, "terminate", reason=_text(reason) or "订单取消")
    session.flush()


def _accept(session: Session, order: EmallOrder, rec: dict[str, Any], actor: Any) -> None:
    on = rec["accepted_on"]
    session.add(EmallAcceptance(order_id=order.id, supplier_id=order.supplier_id,
                                purchaser_id=order.purchaser_id, region_id=order.region_id,
                                accepted_on=on, inspectors=_text(rec.get("inspectors"))[:200],
                                quantity_ok=True, quality_ok=True,
                                note=_text(rec.get("note")) or None,
                                recorded_by=audit.resolve_actor(actor)[0]))
    order.accepted_on = on
    days = settings.get("emall.payment_due_workdays", order.region_id, session=session)
    order.payment_due = workdays.add_working_days(on, days, session)
    if order.contract_id is None:
        order.contract_id = create_contract(session, order).id


def create_contract(session: Session, order: EmallOrder) -> Contract:
    """The procurement_base contract of an accepted order (source ``emall``), signed on the
    day the order was placed and performing, so that finance and deposits can use it."""
    signed = (order.placed_at or now()).date()
    c = Contract(number=f"HT-{order.number}", source="emall", order_ref=order.number,
                 purchaser_id=order.purchaser_id, supplier_id=order.supplier_id, amount=order.amount,
                 region_id=order.region_id, signed_date=signed, status="draft")
    c.purchaser = session.get(Organization, order.purchaser_id)
    c.supplier = session.get(Organization, order.supplier_id)
    c.region = session.get(Region, order.region_id)
    with use_scope(SYSTEM):
        pb.validate_contract(session, c, scope=SYSTEM)
        session.add(c)
        session.flush()
        pb.transition_contract(session, c, "sign", on=signed)
        pb.transition_contract(session, c, "perform")
    return c


def _pay(session: Session, order: EmallOrder, paid_on: dt.date, ref: str | None) -> None:
    order.paid_on = paid_on
    order.payment_ref = _text(ref) or None
    if order.contract_id:
        contract = session.get(Contract, order.contract_id)
        with use_scope(SYSTEM):
            pb.record_payment(session, contract, order.amount, paid_on, order.payment_ref)
            if contract.status in ("signed", "performing"):
                pb.transition_contract(session, contract, "complete")


def validate_order_edit(session: Session, order: EmallOrder, *, scope: Scope | None = None) -> None:
    """PUT of an order: only the purchaser, only while placed, only the delivery details."""
    scope = _actor_scope(scope)
    if _order_role(session, order, scope) not in ("purchaser",) and not scope.unrestricted:
        raise RuleError({"status": ["只有本单位采购人可以修改订单的收货信息"]})
    if order.status != "placed":
        raise ConflictError({"status": [f"订单已{ORDER_STATES.get(order.status)}，不能修改"]})


# -- online price comparison (竞价) -----------------------------------------------------------------
def quote_deadline(session: Session, region_id: int, start: dt.datetime | None = None) -> dt.datetime:
    start = start or now()
    days = settings.get("emall.quote_window_workdays", region_id, session=session)
    end = workdays.add_working_days(start.date(), max(1, days), session)
    return dt.datetime.combine(end, dt.time(17, 0))


def publish_comparison(session: Session, purchaser: Organization, reqs: list[dict[str, Any]], *,
                       user_id: int | None, title: str | None = None,
                       delivery_address: str | None = None, requirements: str | None = None,
                       scope: Scope | None = None) -> EmallComparison:
    lines = []
    for i, r in enumerate(reqs, start=1):
        x = r["listing"]
        lines.append({"line": i, "listing_id": x.id, "category_id": x.category_id,
                      "category_code": x.category.code, "name": x.name,
                      "brand": x.brand, "model": x.model, "quantity": r["quantity"], "unit": x.unit,
                      "ceiling_price": str(x.price)})
    budget = sum((r["listing"].price * r["quantity"] for r in reqs), ZERO)
    stamp = now()
    comp = EmallComparison(
        number="JJ" + _order_number(session, purchaser.region_id)[2:],
        title=_text(title) or f"{purchaser.name}竞价采购{lines[0]['name']}等{len(lines)}项",
        purchaser_id=purchaser.id, user_id=user_id, lines=lines, budget=to_money(budget),
        delivery_address=_text(delivery_address) or purchaser.address,
        requirements=_text(requirements) or None, published_at=stamp,
        quote_deadline=quote_deadline(session, purchaser.region_id, stamp), status="open",
        region_id=purchaser.region_id)
    session.add(comp)
    session.flush()
    audit.record(session, action="create", object_type="emall_comparison", object_id=comp.id,
                 after={"number": comp.number, "budget": comp.budget, "deadline": comp.quote_deadline},
                 module=MODULE, region_id=comp.region_id)
    return comp


def need_category(session: Session, need: dict[str, Any]) -> int | None:
    """The category of a need line (its id, else its code)."""
    if need.get("category_id"):
        return need["category_id"]
    return session.execute(select(EmallCategory.id).where(
        EmallCategory.code == need.get("category_code"))).scalar()


def qualified_for(session: Session, comp: EmallComparison, supplier_id: int) -> str | None:
    """Why a supplier may not quote (None: qualified): admitted in every category of the
    need (its listings must also deliver to the purchaser's region, checked per line)."""
    for line in comp.lines:
        cat = need_category(session, line)
        if cat is None or not is_admitted(session, supplier_id, cat):
            return f"未获准在第 {line['line']} 行商品所属分类入驻（或入驻资格已暂停）"
    return None


def submit_quote(session: Session, comp: EmallComparison, lines: Any, *, note: str | None = None,
                 scope: Scope | None = None) -> EmallQuote:
    """A supplier's quote (a new one, or a change while the window is open): for each need
    line its own listed listing in the same category delivering to the region, a unit price
    not above that listing's price nor the need's ceiling."""
    scope = _actor_scope(scope)
    if scope.actor != "supplier" or not scope.org_id:
        raise RuleError({"supplier": ["只有供应商可以报价"]})
    supplier_id = scope.org_id
    if comp.status != "open" or now() >= comp.quote_deadline:
        raise ConflictError({"comparison": [f"竞价“{comp.number}”已截止报价"]})
    why = qualified_for(session, comp, supplier_id)
    if why:
        raise RuleError({"supplier": [f"不具备报价资格：{why}"]})
    errors = Errors()
    given = {}
    if not isinstance(lines, list):
        errors.add("lines", "请逐行填写报价：[{line, listing_id, unit_price}]")
        errors.raise_if_any()
    for item in lines:
        if isinstance(item, dict) and isinstance(item.get("line"), int):
            given[item["line"]] = item
    covering = set(region_and_ancestors(session, comp.region_id))
    total = ZERO
    clean = []
    for need in comp.lines:
        n = need["line"]
        item = given.get(n)
        where = f"lines.{n}"
        if item is None:
            errors.add(where, f"请为第 {n} 行（{need['name']}）报价")
            continue
        lid = item.get("listing_id")
        listing = session.get(EmallListing, lid) if isinstance(lid, int) and not isinstance(lid, bool) else None
        if listing is None or listing.supplier_id != supplier_id or listing.status != "listed":
            errors.add(f"{where}.listing_id", "请选择本单位已上架的商品")
            continue
        if listing.category_id != need_category(session, need):
            errors.add(f"{where}.listing_id", f"所选商品须属于需求所在分类（第 {n} 行）")
            continue
        if not covering & {r.id for r in listing.regions}:
            errors.add(f"{where}.listing_id", "所选商品不向采购人所在地区供货")
            continue
        price = pb.check_money(errors, f"{where}.unit_price", item.get("unit_price"), "报价单价")
        if price is None:
            continue
        if price > listing.price:
            errors.add(f"{where}.unit_price", f"报价单价不得高于本单位该商品的挂网价格 {fmt_yuan(listing.price)}")
            continue
        ceiling = to_money(need["ceiling_price"])
        if price > ceiling:
            errors.add(f"{where}.unit_price", f"报价单价不得高于需求最高限价 {fmt_yuan(ceiling)}")
            continue
        total += price * need["quantity"]
        clean.append({"line": n, "listing_id": listing.id, "unit_price": str(price)})
    errors.raise_if_any()
    quote = session.execute(select(EmallQuote).where(
        EmallQuote.comparison_id == comp.id, EmallQuote.supplier_id == supplier_id)).scalar_one_or_none()
    if quote is None:
        quote = EmallQuote(comparison_id=comp.id, supplier_id=supplier_id, region_id=comp.region_id)
        session.add(quote)
    quote.lines = clean
    quote.total = to_money(total)
    quote.note = _text(note) or None
    quote.status = "submitted"
    quote.submitted_at = now()
    session.flush()
    audit.record(session, action="quote", object_type="emall_quote", object_id=quote.id,
                 after={"comparison": comp.number, "total": quote.total}, module=MODULE,
                 region_id=comp.region_id)
    return quote


def close_if_due(session: Session, comp: EmallComparison, at: dt.datetime | None = None) -> bool:
    """Close the quote window once the deadline has passed (lazily, on the next read or
    action, or by ``erp emall close-comparisons``). True if closed now."""
    if comp.status == "open" and (at or now()) >= comp.quote_deadline:
        comp.status = "closed"
        audit.record(session, action="transition:close", object_type="emall_comparison",
                     object_id=comp.id, before={"state": "open"}, after={"state": "closed"},
                     module=MODULE, region_id=comp.region_id)
        session.flush()
        return True
    return False


def ranked_quotes(session: Session, comp: EmallComparison) -> list[EmallQuote]:
    """Compliant quotes, lowest total first; equal totals: the earlier quote first."""
    with use_scope(SYSTEM):
        return list(session.execute(select(EmallQuote).where(
            EmallQuote.comparison_id == comp.id, EmallQuote.status.in_(("submitted", "lost")))
            .order_by(EmallQuote.total, EmallQuote.submitted_at, EmallQuote.id)).scalars())


def award_comparison(session: Session, comp: EmallComparison, *, reason: str | None = None,
                     scope: Scope | None = None, actor: Any = None) -> EmallOrder:
    """The lowest compliant quote wins and becomes an order (channel ``comparison``). With
    fewer than the minimum number of quotes the purchaser must give a reason to award the
    lowest one (or cancel and publish again); with none the comparison fails."""
    scope = _actor_scope(scope)
    if not (scope.unrestricted or (scope.actor == "purchaser"
                                   and comp.purchaser_id in _own_units(session, scope.org_id))):
        raise RuleError({"status": ["只有发布竞价的采购人可以确定成交"]})
    close_if_due(session, comp)
    if comp.status == "open":
        raise ConflictError({"status": [f"报价截止时间（{comp.quote_deadline:%Y-%m-%d %H:%M}）未到，不能确定成交"]})
    if comp.status != "closed":
        raise ConflictError({"status": [f"竞价状态为“{COMPARISON_STATES.get(comp.status)}”，不能确定成交"]})
    quotes = ranked_quotes(session, comp)
    if not quotes:
        comp.status = "failed"
        comp.decision_note = "报价截止时无有效报价，竞价失败"
        session.flush()
        raise ConflictError({"status": ["没有供应商有效报价，竞价失败：可重新发布竞价"]})
    least = settings.get("emall.comparison_min_quotes", comp.region_id, session=session)
    if len(quotes) < least and not _text(reason):
        raise RuleError({"reason": [f"有效报价仅 {len(quotes)} 家，少于 {least} 家：须说明理由后确认由最低报价成交，"
                                    "或撤销竞价后重新发布"]})
    purchaser = session.get(Organization, comp.purchaser_id)
    needs = {n["line"]: n for n in comp.lines}
    last_error: ConflictError | None = None
    for quote in quotes:
        supplier = session.get(Organization, quote.supplier_id)
        reqs = []
        for item in quote.lines:
            lid = item.get("listing_id")
            listing = session.get(EmallListing, lid) if isinstance(lid, int) else None
            if listing is None or listing.status != "listed" or item.get("line") not in needs:
                reqs = None  # the quoted listing is gone or delisted: not compliant any more
                break
            reqs.append({"listing": listing, "quantity": needs[item["line"]]["quantity"],
                         "unit_price": item["unit_price"]})
        if not reqs or not is_admitted(session, quote.supplier_id):
            quote.status = "lost"
            continue
        try:
            with session.begin_nested():
                order = place_order(session, purchaser, supplier, reqs, channel="comparison",
                                    pricing="comparison", source_ref=comp.number,
                                    comparison_id=comp.id, user_id=comp.user_id,
                                    delivery_address=comp.delivery_address, scope=scope,
                                    check_band=False)
        except ConflictError as exc:  # the winner ran out of stock: the next lowest
            last_error = exc
            quote.status = "lost"
            continue
        quote.status = "won"
        for other in quotes:
            if other is not quote:
                other.status = "lost"
        comp.status = "awarded"
        comp.winner_quote_id = quote.id
        comp.order_id = order.id
        comp.decision_note = (f"有效报价 {len(quotes)} 家，由最低报价成交" if len(quotes) >= least
                              else f"有效报价 {len(quotes)} 家（少于 {least} 家），采购人确认由最低报价成交：{_text(reason)}")
        session.flush()
        audit.record(session, action="transition:award", object_type="emall_comparison",
                     object_id=comp.id, before={"state": "closed"},
                     after={"state": "awarded", "quote": quote.id, "total": quote.total},
                     module=MODULE, region_id=comp.region_id, reason=_text(reason) or None, actor=actor)
        return order
    raise last_error or ConflictError({"status": ["报价供应商均无法供货"]})


def cancel_comparison(session: Session, comp: EmallComparison, *, reason: str | None,
                      scope: Scope | None = None, actor: Any = None) -> None:
    scope = _actor_scope(scope)
    if not (scope.unrestricted or (scope.actor == "purchaser"
                                   and comp.purchaser_id in _own_units(session, scope.org_id))):
        raise RuleError({"status": ["只有发布竞价的采购人可以撤销竞价"]})
    if not _text(reason):
        raise RuleError({"reason": ["请填写撤销理由"]})
    if comp.status not in ("open", "closed"):
        raise ConflictError({"status": [f"竞价状态为“{COMPARISON_STATES.get(comp.status)}”，不能撤销"]})
    before = comp.status
    comp.status = "cancelled"
    comp.decision_note = _text(reason)
    audit.record(session, action="transition:cancel", object_type="emall_comparison",
                 object_id=comp.id, before={"state": before}, after={"state": "cancelled"},
                 module=MODULE, region_id=comp.region_id, reason=_text(reason), actor=actor)
    session.flush()


# -- price monitoring ----------------------------------------------------------------------------
def scan_prices(session: Session) -> dict[str, int]:
    """Add alerts (once per listing / order line) for listed listings priced above their
    reference and for order prices that are outliers in their category: robust z-score
    0.6745 × (price − median) / MAD over the category's order unit prices (pandas)."""
    import pandas as pd

    stamp = now()
    known = {(k, lst, ln) for k, lst, ln in session.execute(
        select(EmallPriceAlert.kind, EmallPriceAlert.listing_id, EmallPriceAlert.order_line_id))}
    added = {"above_reference": 0, "order_outlier": 0}
    for x in session.execute(select(EmallListing).where(
            EmallListing.status == "listed", EmallListing.price > EmallListing.reference_price)).scalars():
        if ("above_reference", x.id, 0) in known:
            continue
        session.add(EmallPriceAlert(kind="above_reference", listing_id=x.id, order_line_id=0,
                                    category_id=x.category_id, supplier_id=x.supplier_id,
                                    price=x.price, reference_price=x.reference_price,
                                    detail=f"挂网价格 {fmt_yuan(x.price)} 高于参考价 {fmt_yuan(x.reference_price)}",
                                    detected_at=stamp))
        added["above_reference"] += 1
    with use_scope(SYSTEM):
        rows = session.execute(select(
            EmallOrderLine.id, EmallOrderLine.listing_id, EmallOrderLine.category_id,
            EmallOrderLine.supplier_id, EmallOrderLine.unit_price, EmallOrderLine.reference_price)
            .join(EmallOrder, EmallOrder.id == EmallOrderLine.order_id)
            .where(EmallOrder.status != "cancelled")).all()
    if rows:
        df = pd.DataFrame(rows, columns=["line", "listing", "category", "supplier", "price", "ref"])
        df["p"] = df["price"].map(float)  # statistics only; stored amounts stay Decimal
        least = settings.get("emall.outlier_min_samples", session=session)
        threshold = float(settings.get("emall.outlier_threshold", session=session))
        grp = df.groupby("category")["p"]
        df["n"] = grp.transform("size")
        df["median"] = grp.transform("median")
        df["mad"] = (df["p"] - df["median"]).abs().groupby(df["category"]).transform("median")
        df = df[(df["n"] >= least) & (df["mad"] > 0)]
        df = df.assign(z=0.6745 * (df["p"] - df["median"]) / df["mad"])
        for r in df[df["z"].abs() > threshold].itertuples():
            if ("order_outlier", int(r.listing), int(r.line)) in known:
                continue
            median = to_money(Decimal(str(round(r.median, 2))))
            session.add(EmallPriceAlert(
                kind="order_outlier", listing_id=int(r.listing), order_line_id=int(r.line),
                category_id=int(r.category), supplier_id=int(r.supplier), price=r.price,
                reference_price=r.ref, median_price=median, score=f"{r.z:.2f}",
                detail=(f"成交单价 {fmt_yuan(r.price)}，同类中位数 {fmt_yuan(median)}，"
                        f"稳健 Z 分数 {r.z:.2f}（阈值 {threshold:g}，样本 {int(r.n)} 笔）"),
                detected_at=stamp))
            added["order_outlier"] += 1
    session.flush()
    return added


def review_alert(session: Session, alert: EmallPriceAlert, decision: str, note: str | None, *,
                 scope: Scope | None = None, actor: Any = None) -> None:
    scope = _actor_scope(scope)
    if not _privileged(scope, session) and scope.actor not in ("finance",):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以复核价格异常"]})
    if decision not in ("confirmed", "dismissed"):
        raise RuleError({"decision": ["复核结论只能是确认异常（confirmed）或无异常（dismissed）"]})
    if not _text(note):
        raise RuleError({"note": ["请填写复核意见"]})
    if alert.status != "open":
        raise ConflictError({"status": ["该价格异常已复核"]})
    alert.status = decision
    alert.review_note = _text(note)
    alert.reviewed_at = now()
    alert.reviewed_by = audit.resolve_actor(actor)[0]
    audit.record(session, action=f"review:{decision}", object_type="emall_price_alert",
                 object_id=alert.id, before={"state": "open"}, after={"state": decision},
                 module=MODULE, reason=alert.review_note, actor=actor)
    session.flush()


# -- dashboards ------------------------------------------------------------------------------------
def _month(d: dt.datetime | dt.date | None) -> str:
    return d.strftime("%Y-%m") if d else ""


def dashboard(session: Session, *, scope: Scope | None = None, months: int = 12) -> dict[str, Any]:
    """Figures for the user's dashboard (row scoping decides which orders count): orders by
    status, monthly turnover and orders, spend by category, active suppliers, open alerts."""
    rows = session.execute(select(EmallOrder.status, EmallOrder.amount, EmallOrder.placed_at,
                                  EmallOrder.supplier_id)).all()
    by_status = {k: 0 for k in ORDER_STATES}
    month_amount: dict[str, Decimal] = {}
    month_count: dict[str, int] = {}
    for status, amount, placed, _sup in rows:
        by_status[status] = by_status.get(status, 0) + 1
        if status != "cancelled":
            m = _month(placed)
            month_amount[m] = month_amount.get(m, ZERO) + amount
            month_count[m] = month_count.get(m, 0) + 1
    labels = sorted(month_amount)[-months:]
    spend = session.execute(select(EmallCategory.name, func.sum(EmallOrderLine.amount))
                            .join(EmallCategory, EmallCategory.id == EmallOrderLine.category_id)
                            .join(EmallOrder, EmallOrder.id == EmallOrderLine.order_id)
                            .where(EmallOrder.status != "cancelled")
                            .group_by(EmallCategory.name)
                            .order_by(func.sum(EmallOrderLine.amount).desc()).limit(10)).all()
    active = session.execute(select(func.count(func.distinct(EmallListing.supplier_id))).where(
        EmallListing.status == "listed",
        EmallListing.supplier_id.in_(admitted_supplier_ids(session)))).scalar_one()
    alerts = session.execute(select(EmallPriceAlert.kind, func.count()).where(
        EmallPriceAlert.status == "open").group_by(EmallPriceAlert.kind)).all()
    open_states = ("placed", "confirmed", "shipped", "delivered", "disputed")
    return {
        "orders_by_status": by_status,
        "open_orders": sum(by_status.get(s, 0) for s in open_states),
        "months": labels,
        "turnover": [to_money(month_amount[m]) for m in labels],
        "orders": [month_count[m] for m in labels],
        "spend_by_category": [(name, to_money(total or 0)) for name, total in spend],
        "active_suppliers": active,
        "open_alerts": {k: n for k, n in alerts},
        "total": to_money(sum((a for s, a, _p, _x in rows if s != "cancelled"), ZERO)),
    }


CHANNEL_LABELS = ORDER_CHANNELS


# -- audit of money ----------------------------------------------------------------------------------
#: money columns audited on every create, change and delete (orders and quotes are audited
#: when written by the services above; their amounts never change afterwards)
MONEY_FIELDS: dict[type, tuple[str, ...]] = {EmallListing: ("price", "reference_price")}


def audit_listing_prices(session: Session, flush_context: Any) -> None:
    """``after_flush``: one audit record per listing created, re-priced or deleted."""
    touched = [o for o in (*session.new, *session.dirty, *session.deleted) if type(o) in MONEY_FIELDS]
    if not touched:
        return
    from sqlalchemy import inspect as sa_inspect

    conn = session.connection()
    for obj in touched:
        keys = MONEY_FIELDS[type(obj)]
        state = sa_inspect(obj)
        ident = {"supplier_id": obj.supplier_id, "brand": obj.brand, "model": obj.model}
        if obj in session.new:
            audit.record(conn, action="create", object_type=obj.__tablename__, object_id=obj.id,
                         after={**ident, **{k: getattr(obj, k) for k in keys}}, module=MODULE)
        elif obj in session.deleted:
            audit.record(conn, action="delete", object_type=obj.__tablename__, object_id=obj.id,
                         before={**ident, **{k: getattr(obj, k) for k in keys}}, module=MODULE)
        else:
            before, after = {}, {}
            for k in keys:
                hist = state.attrs[k].history
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if hist.added and hist.deleted and old != new:
                    before[k], after[k] = old, new
            if after:
                audit.record(conn, action="update", object_type=obj.__tablename__, object_id=obj.id,
                             before={**ident, **before}, after={**ident, **after}, module=MODULE)


def _install_listeners() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", audit_listing_prices):
        event.listen(Session, "after_flush", audit_listing_prices)


_install_listeners()
