"""Bad input through the APIs: a field-level message in Chinese, the right status, and
nothing written. One test per rule of the issue; both databases."""

from __future__ import annotations

import pytest

from addons.procurement_base.models import Bid, Contract, Package, Project
from core.db import db
from core.models import Organization
from core.services.credit_code import make
from tests.addons.procurement_base.pb_world import AWARD, OPENING, SIGNED, pb  # noqa: F401


def supplier_body(pb, code: str, **extra) -> dict:  # noqa: F811
    return {"name": "新供应商（测试）有限公司", "credit_code": code, "region": pb.region["220102"],
            "size": "small", **extra}


# -- organisations --------------------------------------------------------------------------------
def test_wrong_credit_code_names_the_wrong_character(pb) -> None:  # noqa: F811
    good = make("91220102MA0NEW001")
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    before = pb.count(Organization)
    res = pb.post("pb_supplier", supplier_body(pb, wrong_check), "city_admin", expect=422)
    assert res.json["code"] == "validation_error"
    (message,) = res.json["message"]["credit_code"]
    assert f"第 18 位校验码应为“{good[17]}”，实际为“{wrong_check[17]}”" in message
    res = pb.post("pb_supplier", supplier_body(pb, "91220102MA0NIW001" + good[17]), "city_admin",
                  expect=422)
    assert res.json["message"]["credit_code"] == ["统一社会信用代码第 13 位“I”不是允许的字符"]
    res = pb.post("pb_supplier", supplier_body(pb, "9122"), "city_admin", expect=422)
    assert "18 位" in res.json["message"]["credit_code"][0]
    assert pb.count(Organization) == before
    # lower case is normalised, and the code is then accepted
    res = pb.post("pb_supplier", supplier_body(pb, good.lower()), "city_admin", expect=201)
    assert res.json["result"]["credit_code"] == good


def test_duplicate_credit_code_is_409_naming_the_field(pb) -> None:  # noqa: F811
    before = pb.count(Organization)
    res = pb.post("pb_supplier", supplier_body(pb, pb.code["sup_a"]), "city_admin", expect=409)
    assert res.json["code"] == "duplicate"
    assert res.json["message"] == {
        "credit_code": [f"统一社会信用代码 {pb.code['sup_a']} 已被“长春甲科技（测试）有限公司”使用"]}
    # the same code for another kind of organisation is just as taken
    res = pb.post("pb_purchaser", {"name": "某单位", "credit_code": pb.code["sup_a"],
                                   "org_type": "purchaser", "region": pb.region["220102"]},
                  "city_admin", expect=409)
    assert list(res.json["message"]) == ["credit_code"]
    assert pb.count(Organization) == before


def test_supplier_declares_its_size_and_others_do_not(pb) -> None:  # noqa: F811
    code = make("91220102MA0NEW002")
    res = pb.post("pb_supplier", supplier_body(pb, code, size=None), "city_admin", expect=422)
    assert res.json["message"]["size"] == ["供应商须声明企业规模（大型、中型、小型、微型）"]
    res = pb.post("pb_supplier", supplier_body(pb, code, size="tiny"), "city_admin", expect=422)
    assert "企业规模只能是" in res.json["message"]["size"][0]
    res = pb.post("pb_bank", {"name": "某银行", "credit_code": code, "org_type": "bank",
                              "region": pb.region["220100"], "size": "small"}, "city_admin",
                  expect=422)
    assert res.json["message"]["size"] == ["只有供应商填写企业规模（中小企业声明）"]


def test_purchaser_parent_is_a_competent_unit_of_its_region(pb) -> None:  # noqa: F811
    body = {"name": "长春市第九中学（测试）", "credit_code": make("12220102MA0NEW003"),
            "org_type": "purchaser", "region": pb.region["220102"]}
    res = pb.post("pb_purchaser", {**body, "parent": pb.org["pur_cc"]}, "city_admin", expect=422)
    assert res.json["message"]["parent"] == ["采购人的上级单位必须是主管预算单位"]
    res = pb.post("pb_purchaser", {**body, "org_type": "supplier"}, "city_admin", expect=422)
    assert res.json["message"]["org_type"] == ["单位类型不正确，此处只能登记：采购人、主管预算单位"]
    res = pb.post("pb_purchaser", {**body, "parent": pb.org["cu_cc"]}, "city_admin", expect=201)
    assert res.json["result"]["parent"] == pb.org["cu_cc"]
    shown = pb.call("GET", f"pb_purchaser/{res.json['id']}").json["result"]
    assert shown["parent"] == {"id": pb.org["cu_cc"], "name": "长春市教育局（测试）"}


def test_region_user_writes_organisations_only_in_their_region_subtree(pb) -> None:  # noqa: F811
    before = pb.count(Organization)
    body = supplier_body(pb, make("91220200MA0NEW004"), region=pb.region["220200"])
    res = pb.post("pb_supplier", body, "city_admin", expect=403)
    assert res.json["message"] == {"region": ["只能在您管辖的地区（本地区及下级地区）内新增或修改单位"]}
    # an organisation of 吉林市 cannot be edited, nor one of 长春市 moved to 吉林市
    pb.put("pb_supplier", pb.org["sup_b"], {"phone": "0432-1"}, "city_admin", expect=403)
    pb.put("pb_supplier", pb.org["sup_a"], {"region": pb.region["220200"]}, "city_admin",
           expect=403)
    assert pb.count(Organization) == before
    pb.put("pb_supplier", pb.org["sup_a"], {"phone": "0431-88888888"}, "city_admin", expect=200)
    # the province (platform admin) may write anywhere
    pb.post("pb_supplier", body, "admin", expect=201)
    # every organisation stays readable (a directory)
    assert pb.call("GET", f"pb_supplier/{pb.org['sup_b']}", "city_admin").status_code == 200


# -- money ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("-100.00", "金额不能为负数"),
        ("0", "预算金额必须大于零"),
        ("0.00", "预算金额必须大于零"),
        ("abc", "金额格式不正确"),
        ("1000.005", "金额最多保留两位小数"),
        (1000.5, '金额不能以浮点数提交，请使用字符串（如 "1234.50"）'),
        (None, "该字段不能为空"),
    ],
)
def test_bad_amounts_are_refused_with_a_field_message(pb, budget, message) -> None:  # noqa: F811
    before = pb.count(Project)
    body = {"number": "CC-BAD", "name": "金额不对的项目", "purchaser": pb.org["pur_cc"],
            "catalog": pb.catalog_a02, "method": "inquiry", "budget": budget}
    res = pb.post("pb_project", body, expect=422)
    assert res.json["message"] == {"budget": [message]}
    assert pb.count(Project) == before


def test_amounts_of_packages_bids_contracts_and_payments_are_checked_too(pb) -> None:  # noqa: F811
    p = pb.project()
    res = pb.post("pb_package", {"project": p, "number": "1", "name": "x", "budget": "-1"},
                  expect=422)
    assert res.json["message"] == {"budget": ["金额不能为负数"]}
    res = pb.post("pb_package", {"project": p, "number": "1", "name": "x", "budget": "0"},
                  expect=422)
    assert res.json["message"] == {"budget": ["采购包预算必须大于零"]}
    ids = pb.signed_contract("CC-2025-009")
    for amount, message in (("0", "付款金额必须大于零"), ("12.345", "金额最多保留两位小数"),
                            ("十万", "金额格式不正确")):
        res = pb.post("pb_payment", {"contract": ids["contract"], "paid_date": "2025-04-10",
                                     "amount": amount}, expect=422)
        assert res.json["message"] == {"amount": [message]}


def test_more_than_two_decimals_is_refused_at_the_service_level_too(pb) -> None:  # noqa: F811
    """The services check values however they arrive (pages, other modules, CLI)."""
    from addons.procurement_base import services

    errors = services.Errors()
    assert services.check_money(errors, "budget", "10.001", "预算金额") is None
    assert services.check_money(errors, "amount", "-5", "合同金额") is None
    assert services.check_money(errors, "price", "1,234.50", "投标报价") == __import__("decimal").Decimal("1234.50")
    assert errors.messages == {"budget": ["预算金额最多保留两位小数"], "amount": ["合同金额不能为负数"]}


# -- duplicates ------------------------------------------------------------------------------------
def test_duplicate_project_number_in_the_same_region_is_409(pb) -> None:  # noqa: F811
    pb.project("CC-2025-100")
    before = pb.count(Project)
    res = pb.post("pb_project", {"number": "CC-2025-100", "name": "重复编号", "purchaser": pb.org["pur_cc2"],
                                 "catalog": pb.catalog_a02, "method": "inquiry", "budget": "100.00"},
                  expect=409)
    assert res.json == {"status": 409, "code": "duplicate",
                        "message": {"number": ["项目编号“CC-2025-100”在本地区已存在"]}}
    assert pb.count(Project) == before
    # the same number in another region is another project
    pb.project("CC-2025-100", purchaser="pur_jl")
    assert pb.count(Project) == before + 1


# -- dates ------------------------------------------------------------------------------------------
def test_award_before_opening_is_refused(pb) -> None:  # noqa: F811
    p = pb.project("CC-2025-200", opening_date=OPENING)
    res = pb.put("pb_project", p, {"award_date": "2025-03-20"}, expect=422)
    assert res.json["message"] == {"award_date": [f"中标日期不能早于开标日期（{OPENING}）"]}
    res = pb.post("pb_project", {"number": "CC-2025-201", "name": "x", "purchaser": pb.org["pur_cc"],
                                 "catalog": pb.catalog_a02, "method": "inquiry", "budget": "100.00",
                                 "notice_date": "2025-03-10", "opening_date": "2025-03-01"},
                  expect=422)
    assert res.json["message"] == {"opening_date": ["开标日期不能早于公告日期（2025-03-10）"]}
    with pb.app.app_context():
        from core.db import db

        assert db.session.get(Project, p).award_date is None


def test_contract_signed_before_the_award_is_refused(pb) -> None:  # noqa: F811
    ids = pb.awarded_project("CC-2025-300")
    before = pb.count(Contract)
    res = pb.contract(ids, signed_date="2025-03-30", expect=422)
    assert res.json["message"] == {"signed_date": [f"合同签订日期不能早于中标日期（{AWARD}）"]}
    assert pb.count(Contract) == before
    c = pb.contract(ids).json["id"]
    res = pb.move_contract(c, "sign", date="2025-03-30", expect=422)
    assert res.json["code"] == "guard_refused"
    assert "合同签订日期不能早于中标日期" in res.json["message"]
    pb.move_contract(c, "sign", date=SIGNED)


# -- packages and set-aside -------------------------------------------------------------------------
def test_package_budgets_above_the_project_budget_are_refused(pb) -> None:  # noqa: F811
    p = pb.project("CC-2025-400", budget="1000000.00")
    pb.package(p, "1", "600000.00")
    before = pb.count(Package)
    res = pb.post("pb_package", {"project": p, "number": "2", "name": "第2包", "budget": "400000.01"},
                  expect=422)
    assert res.json["message"] == {"budget": ["各采购包预算合计 ¥1,000,000.01 超过项目预算 ¥1,000,000.00"]}
    assert pb.count(Package) == before
    second = pb.package(p, "2", "400000.00")
    res = pb.put("pb_package", second, {"budget": "500000.00"}, expect=422)
    assert "超过项目预算" in res.json["message"]["budget"][0]
    # nor may the project budget drop below its packages
    res = pb.put("pb_project", p, {"budget": "999999.99"}, expect=422)
    assert res.json["message"] == {"budget": ["项目预算不能低于各采购包预算合计 ¥1,000,000.00"]}


def test_set_aside_amount_above_the_budget_is_refused(pb) -> None:  # noqa: F811
    body = {"number": "CC-2025-500", "name": "预留项目", "purchaser": pb.org["pur_cc"],
            "catalog": pb.catalog_a02, "method": "public_tender", "budget": "3000000.00",
            "sme_measure": "package", "sme_reserved_amount": "3000000.01"}
    res = pb.post("pb_project", body, expect=422)
    assert res.json["message"] == {
        "sme_reserved_amount": ["预留金额 ¥3,000,000.01 超过项目预算 ¥3,000,000.00"]}
    res = pb.post("pb_project", {**body, "sme_reserved_amount": None}, expect=422)
    assert res.json["message"] == {"sme_reserved_amount": ["预留金额不能为空"]}
    res = pb.post("pb_project", {**body, "sme_measure": "none", "sme_reserved_amount": "10.00"},
                  expect=422)
    assert res.json["message"] == {"sme_reserved_amount": ["未采取预留措施时不能填写预留金额"]}
    # the whole project reserved: the amount is the budget
    res = pb.post("pb_project", {**body, "sme_measure": "whole", "sme_reserved_amount": None},
                  expect=201)
    assert res.json["result"]["sme_reserved_amount"] == "3000000.00"
    pb.post("pb_project", {**body, "number": "CC-2025-501", "sme_reserved_amount": "1200000.00"},
            expect=201)


# -- bids -------------------------------------------------------------------------------------------
def test_bid_on_a_package_of_another_project_is_refused(pb) -> None:  # noqa: F811
    p1, p2 = pb.project("CC-2025-600"), pb.project("CC-2025-601")
    pb.package(p1)
    pkg2 = pb.package(p2)
    pb.move(p1, "publish", date="2025-03-03")
    pb.move(p2, "publish", date="2025-03-03")
    before = pb.count(Bid)
    res = pb.post("pb_bid", {"project": p1, "package": pkg2, "supplier": pb.org["sup_a"],
                             "price": "500000.00", "submitted_at": "2025-03-20T10:00:00"},
                  expect=422)
    assert res.json["message"] == {"package": ["采购包“第1包”不属于所选项目“CC-2025-600”"]}
    assert pb.count(Bid) == before
    # without a project the bid takes its package's
    bid = pb.bid(pkg2, "sup_a", "500000.00")
    with pb.app.app_context():  # sealed until opening: not even the platform admin reads it
        assert db.session.get(Bid, bid).project_id == p2
    assert pb.call("GET", f"pb_bid/{bid}").status_code == 404


def test_bid_by_an_organisation_that_is_not_a_supplier_is_refused(pb) -> None:  # noqa: F811
    p = pb.project("CC-2025-700")
    pkg = pb.package(p)
    pb.move(p, "publish", date="2025-03-03")
    before = pb.count(Bid)
    res = pb.post("pb_bid", {"package": pkg, "supplier": pb.org["bank"], "price": "500000.00",
                             "submitted_at": "2025-03-20T10:00:00"}, expect=422)
    assert res.json["message"] == {"supplier": ["“测试银行吉林省分行”是银行，不是供应商，不能投标"]}
    res = pb.post("pb_bid", {"package": pkg, "supplier": pb.org["pur_cc"], "price": "500000.00",
                             "submitted_at": "2025-03-20T10:00:00"}, expect=422)
    assert "不是供应商" in res.json["message"]["supplier"][0]
    assert pb.count(Bid) == before


def test_bids_only_while_published_and_before_the_deadline(pb) -> None:  # noqa: F811
    p = pb.project("CC-2025-800", bid_deadline="2025-03-24T09:00:00")
    pkg = pb.package(p)
    body = {"package": pkg, "supplier": pb.org["sup_a"], "price": "500000.00",
            "submitted_at": "2025-03-20T10:00:00"}
    res = pb.post("pb_bid", body, expect=422)
    assert res.json["message"] == {"package": ["项目状态为“草稿”，只有已发布、尚未开标的项目接受投标"]}
    pb.move(p, "publish", date="2025-03-03")
    res = pb.post("pb_bid", {**body, "submitted_at": "2025-03-24T09:00:01"}, expect=422)
    assert res.json["message"] == {"submitted_at": ["已过投标截止时间（2025-03-24 09:00），不接受投标"]}
    pb.post("pb_bid", body, expect=201)
    res = pb.post("pb_bid", body, expect=409)
    assert res.json["message"] == {"supplier": ["“长春甲科技（测试）有限公司”已对该采购包投标"]}


# -- contracts ------------------------------------------------------------------------------------
def test_contract_above_the_winning_bid_needs_a_reason(pb) -> None:  # noqa: F811
    ids = pb.awarded_project("CC-2025-900", price="550000.00")
    before = pb.count(Contract)
    res = pb.contract(ids, amount="550000.01", expect=422)
    assert res.json["message"] == {"over_bid_reason": [
        "合同金额 ¥550,000.01 高于中标金额 ¥550,000.00，须填写超出原因"]}
    res = pb.contract(ids, amount="560000.00", over_bid_reason="   ", expect=422)
    assert list(res.json["message"]) == ["over_bid_reason"]
    assert pb.count(Contract) == before
    res = pb.contract(ids, amount="560000.00",
                      over_bid_reason="追加同型号备品备件（采购人书面同意，未超过原合同金额10%）",
                      expect=201)
    shown = pb.call("GET", f"pb_contract/{res.json['id']}").json["result"]
    assert shown["sme_label"] == "small", "the SME label follows the supplier's declared size"
    assert shown["outstanding"] == "560000.00"


def test_contract_must_follow_the_award(pb) -> None:  # noqa: F811
    ids = pb.awarded_project("CC-2025-910")
    res = pb.contract(ids, supplier=pb.org["sup_c"], expect=422)
    assert res.json["message"] == {"supplier": ["“长春丙设备（测试）有限公司”不是该采购包的中标供应商"]}
    other = pb.project("CC-2025-911")
    other_pkg = pb.package(other)
    res = pb.contract(ids, package=other_pkg, expect=422)
    assert res.json["message"] == {"package": ["采购包“第1包”不属于项目“CC-2025-910”"]}
    res = pb.contract(ids, purchaser=pb.org["pur_cc2"], expect=422)
    assert res.json["message"] == {"purchaser": ["合同采购人必须是项目的采购人“长春市第二中学（测试）”"]}
    draft = pb.project("CC-2025-912")
    res = pb.contract({"project": draft, "package": pb.package(draft)}, expect=422)
    assert "确定中标后才能登记合同" in res.json["message"]["project"][0]


def test_references_out_of_sight_are_field_errors_not_new_records(pb) -> None:  # noqa: F811
    before = pb.count(Package)
    res = pb.post("pb_package", {"project": 999999, "number": "1", "name": "x", "budget": "1.00"},
                  expect=422)
    assert res.json["message"] == {"project": ["所选记录不存在或不在您的管辖范围内"]}
    res = pb.post("pb_package", {"project": "abc", "number": "1", "name": "x", "budget": "1.00"},
                  expect=422)
    assert res.json["message"] == {"project": ["请填写记录编号（正整数）"]}
    # a 吉林市 project is invisible to a 长春市 purchaser
    jl = pb.project("JL-2025-001", purchaser="pur_jl")
    res = pb.post("pb_package", {"project": jl, "number": "1", "name": "x", "budget": "1.00"},
                  "pur", expect=422)
    assert res.json["message"] == {"project": ["所选记录不存在或不在您的管辖范围内"]}
    assert pb.count(Package) == before


def test_required_fields_have_chinese_messages(pb) -> None:  # noqa: F811
    res = pb.post("pb_project", {"name": "无编号"}, expect=422)
    msg = res.json["message"]
    assert msg["number"] == ["该字段为必填项"]
    assert msg["purchaser"] == ["该字段为必填项"]
    assert msg["budget"] == ["该字段为必填项"]
    res = pb.post("pb_project", {"number": "X", "name": "x", "purchaser": pb.org["pur_cc"],
                                 "catalog": pb.catalog_a02, "method": "auction", "budget": "1.00",
                                 "notice_date": "2025-13-01"}, expect=422)
    assert res.json["message"] == {"notice_date": ["日期格式不正确，应为 YYYY-MM-DD"]}
    res = pb.post("pb_project", {"number": "X", "name": "x", "purchaser": pb.org["pur_cc"],
                                 "catalog": pb.catalog_a02, "method": "auction", "budget": "1.00"},
                  expect=422)
    assert res.json["message"]["method"][0].startswith("采购方式不正确，可选：公开招标")
