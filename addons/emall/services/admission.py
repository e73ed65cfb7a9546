"""Supplier admission (入驻): unified conditions, the negative list of hidden barriers,
applications and their decisions (:data:`ADMISSION_FLOW`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from addons.procurement_base.services import Errors, RuleError
from core.models import Organization
from core.services import audit, settings
from core.services.statemachine import StateMachine, Transition, TransitionError
from core.tenancy import Scope

from ..models import ADMISSION_STATES, EmallAdmission, EmallCategory, EmallCondition
from ..models import EmallAdmissionCategory as AC
from . import notices
from .common import MODULE, _actor_scope, _privileged, _text, now, today

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


def assert_decides_admissions(session: Session, scope: Scope | None = None) -> None:
    """Only the institution (电子卖场管理) decides on admissions (raises :class:`RuleError`)."""
    if not _privileged(_actor_scope(scope), session):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以审核入驻"]})


def decide_admission(session: Session, adm: EmallAdmission, name: str, *, reason: str | None = None,
                     until: dt.date | None = None, scope: Scope | None = None,
                     actor: Any = None) -> None:
    """approve / reject / suspend / reinstate by the institution (audited)."""
    assert_decides_admissions(session, scope)
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
    notices.admission_decided(session, adm, name, adm.reason)


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


# -- documents of an application (营业执照 and other 提供材料 conditions) ----------------------------
settings.declare(
    "emall.document_max_kb", type="int", default="5120",
    label_zh="入驻材料文件大小上限（KB）", help_zh="营业执照等入驻材料：仅接受 PDF、PNG、JPEG 文件。",
    source="平台默认值", module=MODULE)

DOCUMENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}
#: how an uploaded document is referenced in an application's answers
DOCUMENT_PREFIX = "file:"
_DOC_REF = re.compile(r"^file:([0-9a-f]{2})/([0-9a-f]{64})\.(pdf|png|jpeg)$")


def document_type(data: bytes) -> str | None:
    """pdf / png / jpeg by magic bytes (the file name and declared type are ignored)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def store_document(session: Session, data: bytes, folder: Path, *, field: str = "document",
                   label: str = "材料") -> str:
    """Check an uploaded document (type by content, size by ``emall.document_max_kb``), store
    it content-addressed under ``folder`` and return its reference (``file:<ab>/<sha256>.<ext>``,
    kept in the application's answers). Nothing is stored when it is refused."""
    limit_kb = settings.get("emall.document_max_kb", session=session)
    if not data:
        raise RuleError({field: [f"请选择{label}文件"]})
    kind = document_type(data)
    if kind is None:
        raise RuleError({field: [f"{label}只接受 PDF、PNG 或 JPEG 文件（按文件内容识别）"]})
    if len(data) > limit_kb * 1024:
        raise RuleError({field: [f"{label}文件不能超过 {limit_kb} KB（当前 {len(data) // 1024} KB）"]})
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{digest[:2]}/{digest}.{kind}"
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return DOCUMENT_PREFIX + rel


def document_of(value: Any) -> tuple[str, str] | None:
    """An answer that references an uploaded document: (relative path, content type)."""
    m = _DOC_REF.match(value) if isinstance(value, str) else None
    if m is None:
        return None
    return f"{m.group(1)}/{m.group(2)}.{m.group(3)}", DOCUMENT_TYPES[m.group(3)]
