"""Rules, documents, findings and publication through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

from sqlalchemy import select

from core.db import db
from tests.addons.negative_list import nl_files
from tests.addons.negative_list.nl_world import act, document, draft_project, findings, nl, pb  # noqa: F401


def test_seed_rules_are_installed_and_overridden_per_region(nl) -> None:  # noqa: F811
    from addons.negative_list import services
    from addons.negative_list.models import NlRule

    w = nl
    rules = w.call("GET", "nl_rule/?q=(page_size:100)", "nl_admin", expect=200).json["result"]
    assert len(rules) == 21 and all(r["legal_basis"] for r in rules)
    # 长春市 switches NL-11 off and narrows NL-01; 吉林市 keeps the province's rules
    base = {"category": "brand", "name": "指定品牌（长春市）", "legal_basis": "条例第二十条",
            "keywords": "一线品牌", "active": False, "region": w.region["220100"]}
    w.post("nl_rule", {**base, "code": "NL-11"}, "nl_admin", expect=201)
    with w.app.app_context():
        cc = {r.code: r for r in services.rules_in_force(db.session, w.region["220102"])}
        jl = {r.code: r for r in services.rules_in_force(db.session, w.region["220200"])}
        assert "NL-11" not in cc and "NL-11" in jl and len(jl) == 21
        assert db.session.scalar(select(NlRule.region_id).where(NlRule.code == "NL-11",
                                                                NlRule.active.is_(False)))
    # a city's auditor may not write the province's rules (no permission), nor may a city
    # write an override into another city
    w.post("nl_rule", {**base, "code": "NL-12"}, "auditor", expect=403)


def test_an_invalid_pattern_is_refused_by_field_with_its_position(nl) -> None:  # noqa: F811
    w = nl
    body = {"code": "NL-99", "name": "测试", "category": "size", "legal_basis": "条例第二十条",
            "patterns": "营业收入不低于\n注册资本(不低于", "exceptions": "[进口"}
    res = w.post("nl_rule", body, "nl_admin", expect=422)
    msg = res.json["message"]
    assert "第 2 行第 5 个字符处" in msg["patterns"][0] and "缺少右括号" in msg["patterns"][0]
    assert "第 1 行第 1 个字符处" in msg["exceptions"][0]
    res = w.post("nl_rule", {**body, "patterns": "", "exceptions": ""}, "nl_admin", expect=422)
    assert "关键词或正则表达式" in res.json["message"]["patterns"][0]
    res = w.post("nl_rule", {**body, "patterns": "营业收入", "applies_to": "scoring,lunch"},
                 "nl_admin", expect=422)
    assert "lunch" in res.json["message"]["applies_to"][0]
    assert w.call("GET", "nl_rule/?q=(filters:!((col:code,opr:eq,value:NL-99)))", "nl_admin",
                  expect=200).json["count"] == 0


def test_a_document_is_checked_and_template_forms_are_skipped(nl) -> None:  # noqa: F811
    w = nl
    p = draft_project(w)
    doc = document(w, p).json["id"]
    rows = findings(w, p, "pur")
    assert [(r["rule_code"], r["location"]) for r in rows] == [
        ("NL-01", "第 2 段"), ("NL-07", "第 3 段"), ("NL-08", "第 5 段")]
    first = rows[0]
    assert first["quote"] == "一、投标人注册资本不低于1000万元"
    assert first["section"] == "第二章 供应商资格要求" and first["section_kind"] == "qualification"
    assert "第二十条" in first["legal_basis"] and first["status"] == "open"
    assert w.call("GET", f"nl_document/{doc}", "pur", expect=200).json["result"]["rules_checked"] == 21
    # another purchaser's user does not see the document or its findings
    assert w.call("GET", f"nl_document/{doc}", "pur2").status_code == 404
    assert findings(w, p, "pur2") == []


def test_uploads_docx_pdf_and_refusals(nl) -> None:  # noqa: F811
    w = nl
    p = draft_project(w)

    def upload(data: bytes, name: str, expect: int):
        res = w.client.post("/api/v1/nl_document/upload", headers=w.h("pur"),
                            data={"project": str(p), "title": "采购需求", "file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")
        assert res.status_code == expect, res.get_data(as_text=True)
        return res.json

    got = upload(nl_files.docx(["第三章 采购需求", "投影仪参考品牌：爱普生、索尼。"]), "需求.docx", 201)
    assert got["result"]["source"] == "docx"
    assert [(f["rule_code"], f["location"]) for f in got["result"]["findings"]] == [("NL-11", "第 2 段")]
    got = upload(nl_files.pdf([["第一章 投标邀请"], ["投标保证金为采购预算的5%。"]]), "邀请.pdf", 201)
    assert [(f["rule_code"], f["location"]) for f in got["result"]["findings"]] == [("NL-19", "第 2 页第 1 段")]
    assert "Excel" in upload(nl_files.xlsx(), "表.xlsx", 422)["message"]["file"][0]
    assert "空" in upload(b"", "a.txt", 422)["message"]["file"][0]
    assert ".docx" in upload(b"\xd0\xcf\x11\xe0" + bytes(64), "旧.doc", 422)["message"]["file"][0]
    # the size limit is a setting: 1 MB here, a 1.5 MB text is refused, nothing written
    from core.services import settings

    with w.app.app_context():
        settings.set("negative_list.max_document_mb", "1", None, session=db.session)
        db.session.commit()
    big = ("投标人应具有良好的商业信誉。" * 40000).encode()
    assert "超过上限 1 MB" in upload(big, "大.txt", 422)["message"]["file"][0]
    res = document(w, p, content="Clause 1. " * 130000, expect=422)
    assert "超过上限 1 MB" in res.json["message"]["content"][0]
    assert "文件内容为空" in document(w, p, content="  \n ", expect=422).json["message"]["content"][0]
    assert w.call("GET", "nl_document/?q=(page_size:100)", "pur", expect=200).json["count"] == 2


def test_unresolved_findings_stop_publication_until_resolved(nl) -> None:  # noqa: F811
    w = nl
    p = draft_project(w)
    document(w, p)
    rows = findings(w, p, "pur")
    res = w.move(p, "publish", user="pur", expect=422)
    assert "3 条负面清单检查结果尚未处理" in res.json["message"]
    ids = [r["id"] for r in rows]
    # a justification needs a reason; the auditor may not justify, the purchaser may not review
    res = act(w, ids[0], "justify", {"reason": " "}, "pur", expect=422)
    assert "理由" in res.json["message"]["reason"][0]
    act(w, ids[0], "justify", {"reason": "依法设定的条件，见说明"}, "auditor", expect=403)
    # edit the clause: the finding disappears from the text and is marked edited
    res = act(w, ids[0], "edit", {"replacement": "一、投标人应具有履行合同所必需的设备和专业技术能力。"},
                 "pur", expect=200)
    assert res.json["result"]["status"] == "edited"
    act(w, ids[1], "edit", {"replacement": "二、中标后须承诺在本市设立服务网点。"}, "pur", expect=200)
    act(w, ids[2], "justify", {"reason": "本项目为本地农业推广示范，业绩评审已报财政部门备案（测试）"},
           "pur", expect=200)
    act(w, ids[2], "accept", {}, "pur", expect=403)
    # the supervisor rejects: unresolved again, publication stops again
    res = act(w, ids[2], "reject", {}, "auditor", expect=422)
    assert "note" in res.json["message"]
    act(w, ids[2], "reject", {"note": "地域业绩属于条例第二十条第（四）项，请删除"}, "auditor", expect=200)
    assert "1 条负面清单检查结果尚未处理" in w.move(p, "publish", user="pur", expect=422).json["message"]
    act(w, ids[2], "edit", {"replacement": "具有同类项目业绩的，每个得1分。"}, "pur", expect=200)
    assert {r["status"] for r in findings(w, p, "pur")} == {"edited"}
    w.move(p, "publish", user="pur", expect=200)
    # after publication the findings stay as evidence: no further resolution
    assert act(w, ids[0], "justify", {"reason": "再次说明理由"}, "pur").status_code in (409, 422)


def test_a_region_may_switch_the_publication_block_off(nl) -> None:  # noqa: F811
    from core.services import settings

    w = nl
    p = draft_project(w)
    document(w, p)
    with w.app.app_context():
        settings.set("negative_list.block_unresolved", "false", w.region["220100"],
                     session=db.session)
        db.session.commit()
    w.move(p, "publish", user="pur", expect=200)


def test_statistics_and_excel(nl) -> None:  # noqa: F811
    from openpyxl import load_workbook

    w = nl
    p = draft_project(w)
    document(w, p)
    rows = findings(w, p, "pur")
    act(w, rows[0]['id'], "justify", {"reason": "法律另有规定（测试）"}, "pur", expect=200)
    stats = w.call("GET", "nl_finding/stats", "nl_admin", expect=200).json["result"]
    assert stats["total"] == 3 and stats["totals"]["justified"] == 1 and stats["totals"]["open"] == 2
    assert {r["code"] for r in stats["rules"]} == {"NL-01", "NL-07", "NL-08"}
    assert [r["agency"] for r in stats["agencies"]] == ["长春市采购代理（测试）有限公司"]
    assert len(stats["months"]) == 1 and stats["months"][0]["total"] == 3
    assert w.call("GET", "nl_finding/stats", "pur").status_code in (401, 403)
    with w.app.test_request_context():
        from addons.negative_list import reports
        from core.tenancy import SYSTEM, use_scope

        with use_scope(SYSTEM):
            body, name = reports.export(db.session)
    wb = load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["按规则统计", "按地区统计", "按代理机构统计", "按月统计"]
    assert name.endswith(".xlsx")
