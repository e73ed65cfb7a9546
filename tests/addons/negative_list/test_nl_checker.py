"""The checker without a database: the labelled corpus (precision over recall), invalid
patterns refused with their position, sections, template forms, exceptions, negation,
locations in PDF pages, and text extraction from .docx/.pdf/text with its refusals."""

from __future__ import annotations

import pytest

from addons.negative_list import checker, extract
from core.errors import RuleError
from tests.addons.negative_list import nl_files
from tests.addons.negative_list.nl_corpus import corpus, evaluate, seed_specs


def test_corpus_precision_and_recall() -> None:
    clauses = corpus()
    assert len(clauses) >= 60
    kinds = {c["kind"] for c in clauses}
    assert kinds == {"barrier", "lawful", "exception"}
    r = evaluate(seed_specs())
    print(f"\nnegative-list corpus: {r['n']} clauses, TP {r['tp']} FP {r['fp']} FN {r['fn']}, "
          f"precision {r['precision']:.3f}, recall {r['recall']:.3f}")
    for text, codes in r["false_alarms"]:
        print(f"  false alarm {codes}: {text}")
    for text, codes in r["misses"]:
        print(f"  missed (found {codes}): {text}")
    assert r["precision"] >= 0.9, r["false_alarms"]
    assert r["recall"] >= 0.8, r["misses"]


def test_every_seed_rule_is_exercised_by_the_corpus() -> None:
    """Each rule of DOMAIN's table has at least one barrier it must find."""
    expected = {code for c in corpus() for code in c["expect"]}
    assert {s.code for s in seed_specs()} <= expected


@pytest.mark.parametrize(("pattern", "pos", "words"), [
    ("注册资本(不低于", 5, "缺少右括号"),
    ("注册资本)不低于", 5, "括号不配对"),
    ("*注册资本", 1, "量词"),
    ("[注册资本", 1, "字符集"),
])
def test_an_invalid_pattern_is_refused_with_its_position(pattern: str, pos: int, words: str) -> None:
    with pytest.raises(checker.PatternError) as info:
        checker.compile_lines(f"营业收入\n{pattern}")
    assert info.value.line == 2 and info.value.pos == pos, str(info.value)
    assert f"第 2 行第 {pos} 个字符处" in str(info.value) and words in str(info.value)


def test_a_pattern_that_matches_empty_text_is_refused() -> None:
    with pytest.raises(checker.PatternError, match="空文本"):
        checker.compile_line("(注册资本)?")


DOC = """第一章 投标邀请
投标保证金为采购预算的3%。
第二章 供应商资格要求
一、基本条件
供应商须在本市设立分支机构。
采购人不得将注册资本作为资格条件。
第三章 采购需求
中标后须承诺在本市设立服务网点。
第六章 投标文件格式
附件1 中小企业声明函
本公司注册资本不低于500万元。"""


def test_sections_templates_exceptions_and_negation() -> None:
    hits = checker.check_text(DOC, seed_specs())
    by_code = {h.rule.code: h for h in hits}
    assert set(by_code) == {"NL-19", "NL-07"}, [(h.rule.code, h.quote) for h in hits]
    local = by_code["NL-07"]
    assert local.section == "第二章 供应商资格要求 › 一、基本条件"
    assert local.section_kind == "qualification"
    assert local.location == "第 5 段" and local.quote == "供应商须在本市设立分支机构。"[:-1]
    assert by_code["NL-19"].section_kind == "general"


def test_a_rule_applies_only_where_it_says() -> None:
    spec = checker.RuleSpec("T-1", "测试", keywords=("一线品牌",), applies_to=frozenset({"scoring"}))
    text = "第二章 资格要求\n须为一线品牌。\n第四章 评分标准\n一线品牌得2分。\n不在任何章节"
    hits = checker.check_text("前言一线品牌\n" + text, [spec])
    # the preface (no heading yet) is checked; the qualification section is not
    assert [h.location for h in hits] == ["第 1 段", "第 5 段"]


def test_pdf_pages_are_locations() -> None:
    data = nl_files.pdf([["第一章 投标邀请", "欢迎参加。"], ["第二章 资格要求", "投标人注册资本不低于1000万元。"]])
    kind, content = extract.extract(data, "招标文件.pdf")
    assert kind == "pdf"
    hits = checker.check_text(content, seed_specs())
    assert [(h.rule.code, h.location) for h in hits] == [("NL-01", "第 2 页第 2 段")]
    assert hits[0].section == "第二章 资格要求"


def test_docx_text_is_extracted_by_paragraph() -> None:
    kind, content = extract.extract(nl_files.docx(["第二章 资格要求", "须为一线品牌。"]), "x.docx")
    assert kind == "docx" and content.split("\n") == ["第二章 资格要求", "须为一线品牌。"]


def test_text_in_gb18030_is_read() -> None:
    kind, content = extract.extract("投标人须在本市注册。".encode("gb18030"), "a.txt")
    assert (kind, content) == ("text", "投标人须在本市注册。")


@pytest.mark.parametrize(("data", "name", "words"), [
    (b"", "a.txt", "空"),
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "a.doc", ".docx"),
    (nl_files.xlsx(), "a.docx", "Excel"),
    (b"PK\x03\x04broken", "a.docx", "损坏"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "a.png", "二进制"),
    (b"just some text", "a.pdf", "不是有效的PDF"),
    (nl_files.pdf([[]]), "scan.pdf", "扫描件"),
    (b"   \n\n  ", "a.txt", "没有可检查的文字"),
])
def test_files_that_are_not_text_docx_or_pdf_are_refused(data: bytes, name: str, words: str) -> None:
    with pytest.raises(RuleError) as info:
        extract.extract(data, name)
    messages = info.value.messages["file"]
    assert words in messages[0], messages
