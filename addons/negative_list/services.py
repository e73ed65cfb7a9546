"""Business rules of ``negative_list``: plain Python on a session, shared by the API, the
pages, the publication hook, the CLI and the tests.

* rules: validated field by field (an invalid regular expression is refused with its line
  and position); the rules in force for a region are the province's, replaced by the
  override of the nearest region above (same code), plus rules of those regions only;
* documents: entered text or an uploaded .docx/.pdf/text (:mod:`.extract`), within the size
  limit (setting), checked on every save (:mod:`.checker`); a re-check keeps what the
  publisher decided for findings still present and marks vanished ones 已修改;
* findings: the publisher edits the clause or justifies it (a reason is required); a
  supervisor accepts or rejects the justification; rejected findings count as unresolved;
* publication: :data:`procurement_base.services.flows.PROJECT_GUARDS` refuses 发布公告 while a
  project has unresolved findings, where the region's setting requires it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Project
from addons.procurement_base.services import assert_manages_project
from addons.procurement_base.services.flows import PROJECT_GUARDS
from core.errors import ConflictError, DuplicateError, ForbiddenError, RuleError
from core.messages import notify
from core.rules import ModelRules
from core.services import audit, settings
from core.tenancy import SYSTEM, ScopeViolation, current_scope, snapshot, use_scope

from . import checker, extract
from .models import CATEGORIES, FINDING_STATES, UNRESOLVED, NlDocument, NlFinding, NlRule

MODULE = "negative_list"
MB = 1024 * 1024
#: the province finance department's negative-list office (负面清单管理): rules, statistics.
#: Granted by the platform admin (like expert_credit's 专家管理), not on 单位用户.
MANAGER_ROLE = "负面清单管理"

settings.declare(
    "negative_list.block_unresolved", type="bool", default="true",
    label_zh="有未处理的负面清单问题时不得发布采购公告",
    help_zh="开启后，采购项目的文件中仍有“待处理”或“理由未被认可”的检查结果时，不能执行“发布公告”。",
    source="吉林省优化政府采购营商环境方案（2022）任务一；《政府采购法实施条例》第二十条", module=MODULE,
)
settings.declare(
    "negative_list.max_document_mb", type="int", default="10",
    label_zh="检查文件大小上限（MB）",
    help_zh="上传或录入的采购文件超过该大小时不予受理，请拆分后分别检查（平台对任何请求的上限为 16 MB）。",
    source="平台规定", module=MODULE,
)


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _actor(session: Session) -> tuple[str, int | None]:
    return audit.resolve_actor()


# -- rules ------------------------------------------------------------------------------------
def _province_id() -> int | None:
    snap = snapshot()
    roots = [rid for rid, parent in snap.parent.items() if parent is None]
    return roots[0] if len(roots) == 1 else None


def check_rule_writable(region_id: int | None) -> None:
    """Province rules by the province (its users or the platform), an override inside the
    writer's regions."""
    scope = current_scope()
    if scope.unrestricted:
        return
    if region_id is None:
        if scope.region_id is None or scope.region_id != _province_id():
            raise ScopeViolation("region", "全省规则只能由省级负面清单管理人员维护；地区规则请选择所在地区")
    elif scope.region_ids is None or region_id not in scope.region_ids:
        raise ScopeViolation("region", "所选地区不在您的管辖范围内，未保存任何数据")


class RuleRules(ModelRules):
    def validate(self, session: Session, item: NlRule) -> None:
        errors: dict[str, list[str]] = {}
        item.code = (item.code or "").strip().upper()
        item.name = (item.name or "").strip()
        if not item.code:
            errors["code"] = ["请填写规则编号"]
        elif len(item.code) > 20:
            errors["code"] = ["规则编号不超过 20 个字符"]
        if not item.name:
            errors["name"] = ["请填写规则名称"]
        if item.category not in CATEGORIES:
            errors["category"] = ["请选择规则类别"]
        if not (item.legal_basis or "").strip():
            errors["legal_basis"] = ["请填写法律依据"]
        kinds = [k.strip() for k in (item.applies_to or "").replace("，", ",").split(",") if k.strip()]
        bad = [k for k in kinds if k not in checker.SECTION_KINDS]
        if bad:
            errors["applies_to"] = [f"适用部分只能是：{'、'.join(checker.SECTION_KINDS.values())}"
                                    f"（{'、'.join(checker.SECTION_KINDS)}），不认识“{'、'.join(bad)}”"]
        item.applies_to = ",".join(kinds) or None
        for name in ("patterns", "exceptions"):
            try:
                checker.compile_lines(getattr(item, name))
            except checker.PatternError as exc:
                errors[name] = [str(exc)]
        for i, kw in enumerate(checker.lines_of(item.keywords), start=1):
            if len(kw) < 2:
                errors["keywords"] = [f"第 {i} 行关键词“{kw}”太短（至少 2 个字），会造成大量误报"]
                break
        if not checker.lines_of(item.keywords) and not checker.lines_of(item.patterns) \
                and "patterns" not in errors:
            errors["patterns"] = ["请至少填写一个关键词或正则表达式"]
        if errors:
            raise RuleError(errors)
        region_id = item.region.id if item.region is not None else item.region_id
        with session.no_autoflush:
            check_rule_writable(region_id)
            same = select(func.count(NlRule.id)).where(NlRule.code == item.code)
            same = same.where(NlRule.region_id.is_(None) if region_id is None
                              else NlRule.region_id == region_id)
            if item.id is not None:
                same = same.where(NlRule.id != item.id)
            if session.scalar(same):
                raise DuplicateError({"code": ["该地区已有相同编号的规则"]})
        item.updated_at = now()

    def may_delete(self, session: Session, item: NlRule) -> str | None:
        check_rule_writable(item.region_id)
        used = session.scalar(select(func.count(NlFinding.id)).where(NlFinding.rule_id == item.id)
                              .execution_options(erp_unscoped=True))
        if used:
            return f"该规则已产生 {used} 条检查结果（统计依据），不能删除；请改为停用"
        return None


RULE = RuleRules()


def _chain(region_id: int | None) -> list[int | None]:
    """The region and its ancestors, nearest first, then None (the province's rules)."""
    out: list[int | None] = []
    if region_id is not None:
        snap = snapshot()
        rid: int | None = region_id
        while rid is not None:
            out.append(rid)
            rid = snap.parent.get(rid)
    return [*out, None]


def rules_in_force(session: Session, region_id: int | None) -> list[NlRule]:
    """The rules that apply to a region: the nearest override per code, active ones only."""
    chain = _chain(region_id)
    rank = {r: i for i, r in enumerate(chain)}
    rows = session.scalars(select(NlRule).where(
        NlRule.region_id.in_([r for r in chain if r is not None]) | NlRule.region_id.is_(None))).all()
    best: dict[str, NlRule] = {}
    for r in rows:
        cur = best.get(r.code)
        if cur is None or rank[r.region_id] < rank[cur.region_id]:
            best[r.code] = r
    return sorted((r for r in best.values() if r.active), key=lambda r: r.code)


def spec_of(rule: NlRule) -> checker.RuleSpec:
    return checker.RuleSpec(
        code=rule.code, name=rule.name, keywords=tuple(checker.lines_of(rule.keywords)),
        patterns=tuple(checker.lines_of(rule.patterns)),
        exceptions=tuple(checker.lines_of(rule.exceptions)),
        applies_to=frozenset(k for k in (rule.applies_to or "").split(",") if k), rule_id=rule.id)


# -- documents --------------------------------------------------------------------------------
def check_size(content: str, region_id: int | None, session: Session, field: str) -> None:
    limit = settings.get("negative_list.max_document_mb", region_id=region_id, session=session)
    size = len(content.encode("utf-8"))
    if size > limit * MB:
        raise RuleError({field: [f"文件大小 {size / MB:.1f} MB 超过上限 {limit} MB，请拆分后分别检查"]})


class DocumentRules(ModelRules):
    def validate(self, session: Session, doc: NlDocument) -> None:
        errors: dict[str, list[str]] = {}
        doc.title = (doc.title or "").strip()
        if not doc.title:
            errors["title"] = ["请填写文件名称"]
        if doc.project is None:
            errors["project"] = ["请选择采购项目"]
        content = extract.normalise(doc.content or "")
        if not content.replace("\f", "").strip():
            errors["content"] = ["文件内容为空，没有可检查的文字"]
        if errors:
            raise RuleError(errors)
        check_size(content, doc.project.region_id, session, "content")
        if doc.project.status != "draft" and (doc.id is None or self.changed(doc, "content", "project")):
            raise RuleError({"project": ["只能检查草稿状态（尚未发布）的采购项目的文件"]})
        with session.no_autoflush:
            assert_manages_project(session, doc.project)
        doc.region_id = doc.project.region_id
        doc.source = doc.source or "text"
        if doc.id is None or self.changed(doc, "content") or doc.content != content:
            doc.content = content
            doc.size_bytes = doc.size_bytes or len(content.encode("utf-8"))
            run_check(session, doc)

    def may_delete(self, session: Session, doc: NlDocument) -> str | None:
        assert_manages_project(session, doc.project)
        if doc.project.status != "draft":
            return "项目已发布，检查记录作为依据保留，不能删除"
        return None


DOCUMENT = DocumentRules()


def add_document(session: Session, project: Project | None, title: str | None, *,
                 content: str | None = None, data: bytes | None = None,
                 filename: str | None = None) -> NlDocument:
    """A new document of a draft project, checked at once (entered text or an upload)."""
    if project is None:
        raise RuleError({"project": ["请选择采购项目"]})
    source = "text"
    size = 0
    if data is not None:
        limit = settings.get("negative_list.max_document_mb", region_id=project.region_id, session=session)
        if len(data) > limit * MB:
            raise RuleError({"file": [f"文件大小 {len(data) / MB:.1f} MB 超过上限 {limit} MB，请拆分后分别检查"]})
        source, content = extract.extract(data, filename or "")
        size = len(data)
        check_size(content, project.region_id, session, "file")
    elif content is None or not content.strip():
        raise RuleError({"content": ["请录入文件内容或上传文件"]})
    doc = NlDocument(project=project, title=(title or "").strip() or (filename or ""), source=source,
                     filename=filename, content=content or "", size_bytes=size)
    DOCUMENT.before_add(session, doc)
    session.add(doc)
    session.flush()
    audit.record(session, action="check", object_type="nl_document", object_id=doc.id,
                 after={"project_id": project.id, "source": source, "findings": len(doc.findings)},
                 module=MODULE, region_id=doc.region_id)
    return doc


def _key(rule_code: str, matched: str, quote: str) -> tuple[str, str, str]:
    return rule_code, matched, quote


def run_check(session: Session, doc: NlDocument) -> list[NlFinding]:
    """Check ``doc.content`` with the rules in force in the project's region; merge with the
    findings it already has. Returns the findings added."""
    region_id = doc.project.region_id
    with use_scope(SYSTEM):
        rules = rules_in_force(session, region_id)
    by_code = {r.code: r for r in rules}
    hits = checker.check(checker.prepare(checker.paragraphs_of(doc.content)),
                         [checker.compile_rule(spec_of(r)) for r in rules])
    stamp = now()
    live = {_key(f.rule_code, f.matched, f.quote): f for f in doc.findings if f.status != "edited"}
    seen: set[tuple[str, str, str]] = set()
    added = []
    for h in hits:
        key = _key(h.rule.code, h.matched[:200], h.quote)
        if key in seen:
            continue
        seen.add(key)
        f = live.get(key)
        if f is not None:
            f.section, f.section_kind, f.location, f.offset = h.section[:300], h.section_kind, h.location, h.start
            continue
        rule = by_code[h.rule.code]
        f = NlFinding(rule_id=rule.id, rule_code=rule.code, rule_name=rule.name, category=rule.category,
                      legal_basis=rule.legal_basis, guidance=rule.guidance, matched=h.matched[:200],
                      quote=h.quote, section=h.section[:300] or None, section_kind=h.section_kind,
                      location=h.location, offset=h.start, status="open", created_at=stamp,
                      project_id=doc.project.id, region_id=region_id)
        doc.findings.append(f)
        added.append(f)
    for key, f in live.items():
        if key not in seen:
            f.status, f.resolved_at = "edited", stamp
            f.resolved_by, f.resolved_by_id = _actor(session)
    doc.checked_at = stamp
    doc.rules_checked = len(rules)
    return added


# -- findings ---------------------------------------------------------------------------------
def may_resolve(session: Session, finding: NlFinding) -> None:
    """403 unless the user manages the finding's project (its purchaser or agency)."""
    assert_manages_project(session, finding.project)


def resolve_refusal(finding: NlFinding) -> str | bool | None:
    if finding.status not in UNRESOLVED:
        return False
    if finding.project.status != "draft":
        return "项目已发布，检查结果作为依据保留"
    return None


def justify(session: Session, finding: NlFinding, reason: str | None) -> NlFinding:
    """The publisher keeps the clause and says why it is lawful (a supervisor reviews it)."""
    may_resolve(session, finding)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise RuleError({"reason": ["请说明保留该条款的理由（至少 5 个字），例如法律法规的特别规定"]})
    refusal = resolve_refusal(finding)
    if refusal is not None:
        raise ConflictError(refusal if isinstance(refusal, str)
                            else f"该检查结果为“{FINDING_STATES[finding.status]}”，无需再处理")
    finding.status, finding.justification, finding.resolved_at = "justified", reason, now()
    finding.resolved_by, finding.resolved_by_id = _actor(session)
    finding.review_note = finding.reviewed_by = finding.reviewed_at = None
    return finding


def edit_clause(session: Session, finding: NlFinding, replacement: str | None) -> NlDocument:
    """The publisher rewrites the quoted sentence in the document; the document is checked
    again (the finding becomes 已修改 when the barrier is gone)."""
    may_resolve(session, finding)
    refusal = resolve_refusal(finding)
    if refusal is not None:
        raise ConflictError(refusal if isinstance(refusal, str)
                            else f"该检查结果为“{FINDING_STATES[finding.status]}”，无需再处理")
    replacement = (replacement or "").strip()
    if not replacement:
        raise RuleError({"replacement": ["请填写修改后的条款；删除整条条款请写“（删除）”"]})
    if "\n" in replacement or "\f" in replacement:
        raise RuleError({"replacement": ["修改后的条款应为一段文字，不能换行"]})
    doc = finding.document
    if replacement == "（删除）":
        replacement = ""
    if finding.quote not in doc.content:
        raise ConflictError("文件内容已变化，未找到原条款；请刷新后重试")
    doc.content = doc.content.replace(finding.quote, replacement, 1)
    run_check(session, doc)
    return doc


def may_review(session: Session, finding: NlFinding) -> None:
    """A supervisor of the region reviews; never the project's own purchaser or agency."""
    scope = current_scope()
    if scope.unrestricted:
        return
    if scope.org_id is not None and scope.org_id in (finding.project.purchaser_id, finding.project.agency_id):
        raise ForbiddenError("不能审核本单位项目的理由说明")
    if scope.actor in ("purchaser", "agency", "supplier", "bank", "expert", "public"):
        raise ForbiddenError("只有监督部门可以审核理由说明")


def review(session: Session, finding: NlFinding, accept: bool, note: str | None) -> NlFinding:
    may_review(session, finding)
    if finding.status != "justified":
        raise ConflictError(f"该检查结果为“{FINDING_STATES[finding.status]}”，没有待审核的理由说明")
    note = (note or "").strip()
    if not accept and not note:
        raise RuleError({"note": ["不认可时请写明意见，采购人据此修改文件"]})
    finding.status = "accepted" if accept else "rejected"
    finding.review_note = note or None
    finding.reviewed_at = now()
    finding.reviewed_by = _actor(session)[0]
    if finding.resolved_by_id and not accept:
        notify(session, user_ids=[finding.resolved_by_id], kind="negative_list",
               title=f"负面清单检查结果的理由未被认可：{finding.rule_name}",
               body=f"项目“{finding.project.name}”中“{finding.matched}”：{note}",
               link=f"/nlfindingview/show/{finding.id}")
    return finding


def notify_reviewers(session: Session, finding: NlFinding) -> None:
    """Tell the finance bureau of the project's region that a justification waits."""
    from core.models import Organization

    with use_scope(SYSTEM):
        chain = [r for r in _chain(finding.region_id) if r is not None]
        for rid in chain:
            org = session.scalar(select(Organization.id).where(
                Organization.org_type == "finance", Organization.region_id == rid))
            if org is not None:
                notify(session, org_id=org, kind="negative_list",
                       title=f"待审核的负面清单理由说明：{finding.project.name}",
                       body=f"{finding.rule_code} {finding.rule_name}：“{finding.matched}”。理由：{finding.justification}",
                       link=f"/nlfindingview/show/{finding.id}")
                return


# -- publication ------------------------------------------------------------------------------
def unresolved_count(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count(NlFinding.id)).where(
        NlFinding.project_id == project_id, NlFinding.status.in_(UNRESOLVED))
        .execution_options(erp_unscoped=True)) or 0


@PROJECT_GUARDS.implement(MODULE)
def publication_refusal(session: Session, project: Project, transition: str) -> str | None:
    """Refuse 发布公告 while findings are unresolved, where the region requires it."""
    if transition != "publish":
        return None
    if not settings.get("negative_list.block_unresolved", region_id=project.region_id, session=session):
        return None
    n = unresolved_count(session, project.id)
    if n:
        return (f"采购文件有 {n} 条负面清单检查结果尚未处理（修改条款或说明理由），"
                "处理后才能发布公告")
    return None
