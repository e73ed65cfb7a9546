"""Who may do what: roles granted by the manifest, users linked to organisations (the
organisation's type decides the roles), purchasers and agencies managing their own
projects, suppliers reading published projects and their own bids; the catalog seed and
its search."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.db import db
from core.security import ErpUser
from tests.addons.procurement_base.pb_world import PASSWORD, pb  # noqa: F401
from tests.addons.procurement_base.test_pb_pages import submit, web
from tests.core.test_web import jwt


def role_id(pb, name: str) -> int:  # noqa: F811
    from flask_appbuilder.security.sqla.models import Role

    with pb.app.app_context():
        return db.session.execute(select(Role.id).where(Role.name == name)).scalar_one()


def test_users_of_an_organisation_hold_only_the_roles_its_type_allows(pb) -> None:  # noqa: F811
    body = {"username": "sup_a2", "first_name": "甲", "last_name": "二", "email": "a2@example.gov.cn",
            "password": "password8", "organization": pb.org["sup_a"],
            "roles": [role_id(pb, "采购人")]}
    res = pb.post("pb_org_user", body, "city_admin", expect=422)
    assert res.json["message"] == {
        "roles": ["“供应商”单位的用户只能拥有以下角色：供应商；不能拥有：采购人"]}
    res = pb.post("pb_org_user", {**body, "roles": [role_id(pb, "Admin")]}, "city_admin",
                  expect=422)
    assert "不能拥有：Admin" in res.json["message"]["roles"][0]
    res = pb.post("pb_org_user", {**body, "password": "short"}, "city_admin", expect=422)
    assert res.json["message"] == {"password": ["密码至少 8 位"]}
    # an organisation outside the admin's regions
    res = pb.post("pb_org_user", {**body, "organization": pb.org["sup_b"],
                                  "roles": [role_id(pb, "供应商")]}, "city_admin", expect=403)
    assert res.json["message"] == {"organization": ["只能为您管辖地区内的单位设置用户"]}
    res = pb.post("pb_org_user", {**body, "roles": [role_id(pb, "供应商")]}, "city_admin",
                  expect=201)
    assert "password" not in res.json["result"], "the password hash is never answered"
    uid = res.json["id"]
    assert jwt(pb.client, "sup_a2", "password8")["Authorization"].startswith("Bearer ")
    # changing the organisation re-checks the roles
    res = pb.put("pb_org_user", uid, {"organization": pb.org["pur_cc"]}, "city_admin", expect=422)
    assert "“采购人”单位的用户只能拥有以下角色：采购人" in res.json["message"]["roles"][0]
    pb.put("pb_org_user", uid, {"organization": pb.org["pur_cc"], "roles": [role_id(pb, "采购人")]},
           "city_admin", expect=200)
    # finance users may be region admins or auditors
    pb.put("pb_org_user", uid, {"organization": pb.org["fin_cc"],
                                "roles": [role_id(pb, "地区管理员"), role_id(pb, "审计监督")]},
           "city_admin", expect=200)
    # the page lists the users of the admin's regions only
    listed = pb.call("GET", "pb_org_user/?q=(page_size:100)", "city_admin").json
    names = {r["username"] for r in listed["result"]}
    assert {"pur", "sup_a", "sup_a2", "auditor"} <= names and not names & {"sup_b", "pur_jl", "admin"}
    assert pb.call("GET", f"pb_org_user/{_uid(pb, 'sup_b')}", "city_admin").status_code == 404
    # users are deactivated, never deleted here
    assert pb.call("DELETE", f"pb_org_user/{uid}", "city_admin").status_code == 405
    pb.put("pb_org_user", uid, {"active": False}, "city_admin", expect=200)


def _uid(pb, username: str) -> int:  # noqa: F811
    with pb.app.app_context():
        return db.session.execute(select(ErpUser.id).where(ErpUser.username == username)).scalar_one()


def test_org_user_page_shows_the_role_message_on_the_field(pb) -> None:  # noqa: F811
    client = web(pb, "city_admin")
    data = {"username": "bank_clerk", "first_name": "李", "last_name": "四",
            "email": "b@example.gov.cn", "organization": pb.org["sup_a"],
            "roles": str(role_id(pb, "银行")), "active": "y", "password": "password8",
            "conf_password": "password8"}
    res = submit(client, "/orguserview/add", data)
    assert "“供应商”单位的用户只能拥有以下角色：供应商；不能拥有：银行" in res.get_data(as_text=True)
    with pb.app.app_context():
        assert db.session.execute(select(ErpUser).where(ErpUser.username == "bank_clerk")).first() is None
    res = submit(client, "/orguserview/add", {**data, "roles": str(role_id(pb, "供应商"))})
    assert res.status_code == 302
    jwt(pb.client, "bank_clerk", "password8")


def test_supplier_reads_published_projects_and_its_own_bids(pb) -> None:  # noqa: F811
    ids = pb.awarded_project("AC-001")
    draft = pb.project("AC-002")
    listed = pb.call("GET", "pb_project/?q=(page_size:100)", "sup_a").json
    assert ids["project"] in listed["ids"] and draft not in listed["ids"]
    assert pb.call("GET", f"pb_project/{draft}", "sup_a").status_code == 404
    bids = pb.call("GET", "pb_bid/?q=(page_size:100)", "sup_a").json
    assert bids["ids"] == [ids["won"]], "only its own bid, not sup_c's"
    assert pb.call("GET", f"pb_bid/{ids['lost']}", "sup_a").status_code == 404
    # reading only: no writes, no transitions, no export
    pb.post("pb_project", {"number": "X"}, "sup_a", expect=403)
    pb.move(ids["project"], "contract", "sup_a", expect=403)
    pb.call("GET", "pb_contract/export/", "sup_a", expect=403)


def test_purchaser_manages_only_its_own_projects(pb) -> None:  # noqa: F811
    p = pb.project("AC-010", user="pur")
    # another unit of the same district does not even see it (own reach, issue 12 finding 2)
    pb.put("pb_project", p, {"name": "改名"}, "pur2", expect=404)
    res = pb.post("pb_project", {"number": "AC-011", "name": "替别人建", "purchaser": pb.org["pur_cc"],
                                 "catalog": pb.catalog_a02, "method": "inquiry", "budget": "10.00"},
                  "pur2", expect=422)
    assert list(res.json["message"]) == ["purchaser"]
    pb.move(p, "terminate", "pur2", expect=404, reason="x")
    pb.move(p, "terminate", "pur", reason="需求变更，取消采购")
    # a 吉林市 purchaser does not even see it
    assert pb.call("GET", f"pb_project/{p}", "pur_jl").status_code == 404


def test_agency_runs_the_projects_entrusted_to_it(pb) -> None:  # noqa: F811
    res = pb.post("pb_project", {"number": "AC-020", "name": "代理项目", "purchaser": pb.org["pur_cc"],
                                 "catalog": pb.catalog_a02, "method": "inquiry", "budget": "10.00"},
                  "agency", expect=201)
    p = res.json["id"]
    assert pb.call("GET", f"pb_project/{p}").json["result"]["agency"]["id"] == pb.org["agency_cc"]
    pkg = pb.package(p, budget="10.00", user="agency")
    pb.move(p, "publish", "agency", date="2025-03-03")
    pb.bid(pkg, "sup_a", "9.50", user="agency")
    # the transitions endpoint says what is possible now
    res = pb.call("GET", f"pb_project/{p}/transitions", "agency", expect=200).json
    assert res["status"] == "published"
    assert {t["name"]: t["allowed"] for t in res["result"]} == {
        "open_bidding": True, "terminate": True, "fail": True}
    res = pb.move(p, "evaluate", "agency", expect=409)
    assert res.json == {"status": 409, "code": "invalid_state", "message": "采购项目状态为“已发布”，不能执行“完成评审”",
                        "transition": "evaluate", "state": "published"}
    res = pb.move(p, "fail", "agency", expect=422)
    assert res.json["code"] == "reason_required"
    res = pb.move(p, "open_bidding", "agency", expect=422, date="2025-02-01")
    assert res.json["code"] == "guard_refused"
    res = pb.move(p, "open_bidding", "agency", expect=422, date="2025-02-30")
    assert res.json["message"] == {"date": ["日期格式不正确，应为 YYYY-MM-DD"]}
    res = pb.move(p, "open_bidding", "agency", date="2025-03-24")
    assert res.json["result"]["status"] == "bidding" and res.json["result"]["opening_date"] == "2025-03-24"


def test_catalog_seed_and_search(pb) -> None:  # noqa: F811
    rows = pb.call("GET", "pb_catalog/?q=(page_size:100,filters:!((col:level,opr:eq,value:2)))").json
    codes = {r["code"]: r["name"] for r in rows["result"]}
    assert {f"A0{i}" for i in range(1, 9)} <= set(codes)
    assert {f"B0{i}" for i in range(1, 9)} <= set(codes)
    assert {f"C{i:02d}" for i in range(1, 24)} <= set(codes)
    assert codes["A01"] == "房屋和构筑物" and codes["A08"] == "无形资产" and codes["C16"] == "信息技术服务"
    # search by code and by Chinese name, for every reader (a supplier here)
    res = pb.call("GET", "pb_catalog/?q=(filters:!((col:code,opr:sw,value:A0705)))", "sup_a").json
    assert {r["code"] for r in res["result"]} == {"A0705", "A070504", "A070505", "A070506", "A070507"}
    res = pb.call("GET", "pb_catalog/?q=(filters:!((col:name,opr:ct,value:兽)))", "sup_a").json
    assert {r["name"] for r in res["result"]} == {"兽医检测仪器", "兽用药品（兽药）",
                                                  "兽用生物制品（疫苗）", "兽医诊断检测试剂"}
    assert {r["code"] for r in pb.call("GET", "pb_catalog/?q=(filters:!((col:name,opr:ct,value:饲料)))").json["result"]} == {"A070203"}
    page = web(pb, "sup_a").get("/catalogview/list/?_flt_2_name=冷链").get_data(as_text=True)
    assert "冷藏冷冻设备（冷链设备）" in page and "记录数目:</strong> 1" in page


def test_catalog_items_derive_level_kind_and_parent(pb) -> None:  # noqa: F811
    res = pb.post("pb_catalog", {"code": "a070508", "name": "兽用器械"}, expect=201)
    item = pb.call("GET", f"pb_catalog/{res.json['id']}").json["result"]
    assert (item["code"], item["level"], item["kind"], item["parent"]["code"]) == (
        "A070508", 4, "goods", "A0705")
    res = pb.post("pb_catalog", {"code": "A0799", "name": "x"}, expect=201)
    res = pb.post("pb_catalog", {"code": "A079901", "name": "y"}, expect=201)
    res = pb.post("pb_catalog", {"code": "A07990101", "name": "z"}, expect=201)
    res = pb.post("pb_catalog", {"code": "D01", "name": "x"}, expect=422)
    assert res.json["message"]["code"][0].startswith("品目编码格式不正确")
    res = pb.post("pb_catalog", {"code": "A0988", "name": "x"}, expect=422)
    assert res.json["message"] == {"code": ["上级品目 A09 不存在，请先新增上级品目"]}
    res = pb.post("pb_catalog", {"code": "A0705", "name": "重复"}, expect=409)
    assert res.json["message"] == {"code": ["品目编码 A0705 已存在"]}
    parent = pb.call("GET", "pb_catalog/?q=(filters:!((col:code,opr:eq,value:A0705)))").json["ids"][0]
    res = pb.put("pb_catalog", parent, {"code": "A0706"}, expect=422)
    assert res.json["message"] == {"code": ["该品目有下级品目，不能修改编码"]}
    pb.put("pb_catalog", parent, {"name": "医药品（兽用）"}, expect=200)
    # only the platform admin edits the catalog
    pb.post("pb_catalog", {"code": "A0709", "name": "x"}, "city_admin", expect=403)
    assert re.search(r"A0705", web(pb).get("/catalogview/list/?_flt_0_code=A0705").get_data(as_text=True))
