"""The negative-list checker: plain Python, no database, no Flask.

A document is a list of paragraphs (lines) in pages; headings split it into sections.
Each rule is compiled once into one alternation (its keywords, escaped, and its regular
expressions) and scanned over the whole text in one pass (``re`` skips positions whose first
character cannot start a match, so 200 rules over a 200-page document stay well under a
second: ``bench/negative_list.py``). A match becomes a finding unless

* it lies in a template section (declaration forms, 格式/声明函/范本): those are filled in by
  suppliers, not conditions set by the purchaser;
* the section's kind (资格条件, 评分标准, 实质性要求, 合同条款) is known and the rule does not
  apply there;
* an exception of the rule occurs in the same sentence (进口产品 for a manufacturer's
  authorisation, 中标后/成交后 for a local service office);
* the clause before the match negates it (不得、不以、不作为、不要求 ...): the lawful
  wording of the same subject ("不得将注册资本作为资格条件").

A checker flags candidates and a person decides (DOMAIN.md): precision over recall.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: where a rule applies (rule.applies_to); a section of no known kind is checked by every rule
SECTION_KINDS = {
    "qualification": "资格条件",
    "scoring": "评分标准",
    "substantive": "实质性要求",
    "contract": "合同条款",
}
GENERAL = "general"
TEMPLATE = "template"
SECTION_KIND_LABELS = {**SECTION_KINDS, GENERAL: "其他", TEMPLATE: "格式文件（不检查）"}

#: heading words -> section kind, first match wins (template first: a "资格证明文件格式" is a form)
KIND_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (TEMPLATE, re.compile(r"格式|声明函|范本|样本|模板|样表")),
    ("scoring", re.compile(r"评分|评审因素|评标办法|评审办法|评审标准|打分|评标标准")),
    ("qualification", re.compile(r"资格|资质要求|供应商条件|投标人条件|准入")),
    ("contract", re.compile(r"合同")),
    ("substantive", re.compile(r"技术要求|采购需求|技术参数|商务要求|实质性|服务要求|需求")),
)
HEADING = re.compile(
    r"^\s*(第[一二三四五六七八九十百零〇\d]+[章部分篇节]|[一二三四五六七八九十]+、|"
    r"[（(][一二三四五六七八九十]+[)）]|附件\s*[\d一二三四五六七八九十]*[:：、\s]?)"
)
#: negation in the clause before a match: the lawful wording of the same subject
NEGATION = re.compile(r"不得|不以|不将|不作为|不设置|不设定|不要求|不限制|不限定|无需|不需|禁止|严禁|"
                      r"不再|取消|不应|不能|不允许|不宜|不属于")
SENTENCE_END = re.compile(r"[。；;！!？?\n]")
CLAUSE_END = re.compile(r"[，,。；;：:！!？?\n]")
MAX_PATTERN = 500


class PatternError(ValueError):
    """A rule's pattern that does not compile: ``line`` (1-based), ``pos`` (1-based
    character in that line) and a Chinese message."""

    def __init__(self, line: int, pos: int | None, message: str, pattern: str) -> None:
        self.line, self.pos, self.pattern = line, pos, pattern
        where = f"第 {line} 行" + (f"第 {pos} 个字符处" if pos else "")
        super().__init__(f"{where}正则表达式无效：{message}（{pattern}）")


_RE_MESSAGES = (
    ("missing ), unterminated subpattern", "缺少右括号“)”"),
    ("unbalanced parenthesis", "括号不配对（多了“)”）"),
    ("nothing to repeat", "量词（* + ? {}）前没有可重复的内容"),
    ("multiple repeat", "量词重复"),
    ("unterminated character set", "字符集缺少“]”"),
    ("bad escape", "无效的转义序列"),
    ("bad character range", "字符范围无效"),
    ("unknown extension", "未知的括号扩展语法"),
    ("missing group name", "缺少分组名"),
    ("look-behind requires fixed-width pattern", "后行断言必须是固定长度"),
)


def _zh(msg: str) -> str:
    for en, zh in _RE_MESSAGES:
        if msg.startswith(en):
            return zh
    return msg


def lines_of(text: str | None) -> list[str]:
    """The non-empty, stripped lines of a multi-line field (keywords, patterns, exceptions)."""
    return [s.strip() for s in (text or "").splitlines() if s.strip()]


def compile_line(pattern: str, line: int = 1) -> re.Pattern[str]:
    """One regular expression, refused with the position of the error (PatternError)."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(line, None, f"长度 {len(pattern)} 超过上限 {MAX_PATTERN} 个字符", pattern[:40] + "…")
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        pos = exc.pos + 1 if exc.pos is not None else None
        raise PatternError(line, pos, _zh(exc.msg), pattern) from None
    if rx.search("") is not None:
        raise PatternError(line, None, "该表达式能匹配空文本，会在每个位置命中", pattern)
    return rx


def compile_lines(text: str | None) -> list[re.Pattern[str]]:
    return [compile_line(p, i) for i, p in enumerate(lines_of(text), start=1)]


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the checker needs it (from the database row, or built in tests/benchmarks)."""

    code: str
    name: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    applies_to: frozenset[str] = frozenset()
    rule_id: int | None = None


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    rx: re.Pattern[str]
    exception: re.Pattern[str] | None


@functools.lru_cache(maxsize=4096)
def compile_rule(spec: RuleSpec) -> CompiledRule:
    """Keywords (literal) and patterns (regular expressions) as one alternation."""
    parts = [re.escape(k) for k in spec.keywords]
    for i, p in enumerate(spec.patterns, start=1):
        compile_line(p, i)
        parts.append(f"(?:{p})")
    if not parts:
        raise PatternError(1, None, "规则至少需要一个关键词或正则表达式", "")
    exc = [f"(?:{compile_line(e, i).pattern})" for i, e in enumerate(spec.exceptions, start=1)]
    return CompiledRule(spec, re.compile("|".join(parts)), re.compile("|".join(exc)) if exc else None)


@dataclass(frozen=True)
class Paragraph:
    text: str
    number: int  # 1-based, in the document
    page: int | None = None  # PDF pages
    in_page: int | None = None  # 1-based within its page
    heading: bool = False  # from the file's styles (docx)


@dataclass
class Section:
    title: str
    kind: str
    start: int  # offset in the joined text
    end: int


@dataclass(frozen=True)
class Hit:
    rule: RuleSpec
    start: int  # offset in the joined text
    end: int
    matched: str
    quote: str  # the sentence
    section: str
    section_kind: str
    location: str
    paragraph: int


@dataclass
class Prepared:
    """A document ready for checking: joined text, paragraph offsets, sections."""

    text: str
    paragraphs: list[Paragraph]
    offsets: list[int]
    sections: list[Section] = field(default_factory=list)
    section_starts: list[int] = field(default_factory=list)


def paragraphs_of(content: str) -> list[Paragraph]:
    """Stored content: lines are paragraphs, a form feed starts a new page (PDF)."""
    out: list[Paragraph] = []
    pages = content.split("\f")
    paged = len(pages) > 1
    n = 0
    for pno, page in enumerate(pages, start=1):
        for k, line in enumerate(page.split("\n"), start=1):
            n += 1
            out.append(Paragraph(line, n, pno if paged else None, k if paged else None))
    return out


def _heading_kind(title: str) -> str | None:
    for kind, rx in KIND_WORDS:
        if rx.search(title):
            return kind
    return None


def is_heading(p: Paragraph) -> bool:
    t = p.text.strip()
    if not t or len(t) > 40 or "。" in t:
        return False
    return p.heading or bool(HEADING.match(t))


def _level(title: str) -> int:
    t = title.strip()
    if re.match(r"第[一二三四五六七八九十百零〇\d]+[章部分篇]", t) or t.startswith("附件"):
        return 1
    if re.match(r"第[一二三四五六七八九十百零〇\d]+节|[一二三四五六七八九十]+、", t):
        return 2
    return 3


def prepare(paragraphs: Sequence[Paragraph]) -> Prepared:
    texts, offsets, pos = [], [], 0
    for p in paragraphs:
        offsets.append(pos)
        texts.append(p.text)
        pos += len(p.text) + 1
    text = "\n".join(texts)
    prep = Prepared(text, list(paragraphs), offsets)
    stack: list[tuple[int, str, str | None]] = []  # (level, title, own kind)
    cur_start = 0
    cur_title, cur_kind = "", GENERAL

    def close(at: int) -> None:
        prep.sections.append(Section(cur_title, cur_kind, cur_start, at))

    for p, off in zip(paragraphs, offsets, strict=True):
        if not is_heading(p):
            continue
        close(off)
        title = p.text.strip()
        level = _level(title)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title, _heading_kind(title)))
        cur_start = off
        cur_title = " › ".join(t for _, t, _ in stack)
        kinds = [k for _, _, k in stack if k]
        # a template anywhere above wins; otherwise the deepest heading that names a kind
        cur_kind = TEMPLATE if TEMPLATE in kinds else (kinds[-1] if kinds else GENERAL)
    close(len(text) + 1)
    prep.sections = [s for s in prep.sections if s.end > s.start or s.start == 0]
    prep.section_starts = [s.start for s in prep.sections]
    return prep


def _section_at(prep: Prepared, pos: int) -> Section:
    i = bisect.bisect_right(prep.section_starts, pos) - 1
    return prep.sections[max(i, 0)]


def _bounds(text: str, start: int, end: int, rx: re.Pattern[str]) -> tuple[int, int]:
    a = start
    while a > 0 and not rx.match(text, a - 1):
        a -= 1
    m = rx.search(text, end)
    return a, (m.start() if m else len(text))


def _negated(text: str, clause_from: int, start: int, end: int) -> bool:
    """A negation that begins before the match, in its clause ("不限定品牌" negates the
    match "限定品牌"; "注册资本不得低于" is not negated: the 不得 is inside the match)."""
    return any(n.start() < start for n in NEGATION.finditer(text, clause_from, min(end, start + 4)))


def location_of(p: Paragraph) -> str:
    if p.page is not None:
        return f"第 {p.page} 页第 {p.in_page} 段"
    return f"第 {p.number} 段"


def check(prep: Prepared, rules: Iterable[CompiledRule]) -> list[Hit]:
    """Every finding of ``rules`` in the prepared document, in document order."""
    text = prep.text
    hits: list[Hit] = []
    for rule in rules:
        spec = rule.spec
        for m in rule.rx.finditer(text):
            start, end = m.span()
            section = _section_at(prep, start)
            if section.kind == TEMPLATE:
                continue
            if spec.applies_to and section.kind != GENERAL and section.kind not in spec.applies_to:
                continue
            s_from, s_to = _bounds(text, start, end, SENTENCE_END)
            sentence = text[s_from:s_to]
            if rule.exception is not None and rule.exception.search(sentence):
                continue
            c_from, _ = _bounds(text, start, end, CLAUSE_END)
            if _negated(text, c_from, start, end):
                continue
            para_i = bisect.bisect_right(prep.offsets, start) - 1
            para = prep.paragraphs[para_i]
            hits.append(Hit(spec, start, end, m.group(0), sentence.strip(), section.title,
                            section.kind, location_of(para), para.number))
    hits.sort(key=lambda h: (h.start, h.rule.code))
    return hits


def check_text(content: str, rules: Iterable[RuleSpec]) -> list[Hit]:
    """Convenience: check stored content (lines, form feeds between pages)."""
    return check(prepare(paragraphs_of(content)), [compile_rule(r) for r in rules])


def naive_check(content: str, rules: Iterable[RuleSpec]) -> int:
    """The baseline of the benchmark: every paragraph against every pattern of every rule,
    compiled on the fly, no sections or exceptions. Returns the number of raw matches."""
    n = 0
    rules = list(rules)
    for p in paragraphs_of(content):
        for r in rules:
            for k in r.keywords:
                n += p.text.count(k)
            for pat in r.patterns:
                n += sum(1 for _ in re.finditer(pat, p.text))
    return n
