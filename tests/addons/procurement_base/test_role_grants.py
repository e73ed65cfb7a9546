"""Issue 12 finding 3: a user grants only roles whose reach is within their own.

A 长春市 region admin created a user with 电子卖场管理 (the one provincial e-mall's
institution role: it reviews admissions and listings of the whole province) on 长春市政府采购
中心; that user then suspended a 吉林市 supplier's admission. Every grantable role is tried
here against every admin level: the platform admin, the province's region admin, a city's
and a district's, on the 单位用户 API and page (the FAB user pages are the platform admin's
only). The refusal names the role, its reach and the grantor's.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from core.db import db
from core.models import Organization
from core.services.credit_code import make
from core.tenancy import REACH_PROVINCE, role_reach
from tests.addons.procurement_base.pb_world import PASSWORD, pb  # noqa: F401
from tests.addons.procurement_base.test_pb_access import role_id
from tests.addons.procurement_base.test_pb_pages import submit, web
from tests.conftest import cli, installer

#: admin level -> (username, region code or None for the platform admin)
ADMINS = {"platform": ("admin", None), "province": ("prov_admin", "220000"),
          "city": ("city_admin", "220100"), "district": ("ng_admin", "220102")}
_serial = itertools.count(1)


@pytest.fixture
def grants(pb):  # noqa: F811
    """pb's world with the e-mall installed (it adds 电子卖场管理 for centralized procurement
    institutions), one organisation of every type in 南关区 (inside every admin's reach)."""
    from addons.procurement_base.services import ACTOR_ROLES
    from core.models import ORG_TYPES

    app = pb.app
    installer(app).install(["emall"])
    assert cli(app, "tenant", "enable", "220000", "emall").exit_code == 0
    for username, region in (("prov_admin", "220000"), ("ng_admin", "220102")):
        res = cli(app, "user", "create", "--username", username, "--password", PASSWORD,
                  "--role", "地区管理员", "--region", region)
        assert res.exit_code == 0, res.output
    orgs: dict[str, int] = {}
    with app.app_context():
        for i, org_type in enumerate(sorted(ORG_TYPES), start=1):
            if not ACTOR_ROLES.get(org_type):
                continue
            org = Organization(name=f"南关区授权测试单位{i}（{ORG_TYPES[org_type]}）", org_type=org_type,
                               region_id=pb.region["220102"], active=True,
                               credit_code=make(f"91220102MA0GR{i:04d}"),
                               size="small" if org_type == "supplier" else None)
            db.session.add(org)
            db.session.flush()
            orgs[org_type] = org.id
        db.session.commit()
    return pb, orgs, dict(ACTOR_ROLES)


def cases(actor_roles: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return sorted({(org_type, role) for org_type, roles in actor_roles.items() for role in roles})


def expected_ok(level: str, role: str, org_type: str) -> bool:
    reach = role_reach(role, org_type)
    return level in ("platform", "province") or reach != REACH_PROVINCE


def test_every_grantable_role_against_every_admin_level_on_the_api(grants) -> None:
    w, orgs, actor_roles = grants
    combos = [(o, r) for o, r in cases(actor_roles) if o in orgs]
    assert ("central_procurement", "电子卖场管理") in combos
    assert any(role_reach(r, o) == REACH_PROVINCE for o, r in combos)
    from core.security import ErpUser

    for level, (admin, _) in ADMINS.items():
        for org_type, role in combos:
            username = f"grant{next(_serial)}"
            body = {"username": username, "first_name": "授", "last_name": "权",
                    "email": f"{username}@example.gov.cn", "password": "password8",
                    "organization": orgs[org_type], "roles": [role_id(w, role)]}
            res = w.post("pb_org_user", body, admin)
            where = (level, org_type, role, res.status_code, res.get_data(as_text=True)[:300])
            with w.app.app_context():
                created = db.session.execute(
                    select(ErpUser.id).where(ErpUser.username == username)).first()
            if expected_ok(level, role, org_type):
                assert res.status_code == 201, where
                assert created is not None
            else:
                assert res.status_code == 422, where
                message = " ".join(res.json["message"]["roles"])
                assert f"不能授予角色“{role}”" in message and "全省" in message, where
                assert created is None, where
                # nor by changing an existing user's roles
                uid = w.post("pb_org_user", {**body, "username": f"{username}b",
                                              "email": f"{username}b@example.gov.cn",
                                              "roles": [role_id(w, "采购代理机构")]},
                              admin, expect=201).json["id"]
                res = w.put("pb_org_user", uid, {"roles": [role_id(w, role)]}, admin)
                assert res.status_code == 422, where


def test_the_org_user_page_says_why(grants) -> None:
    w, orgs, _ = grants
    client = web(w, "city_admin")
    data = {"username": "emall_mgr", "first_name": "王", "last_name": "五",
            "email": "w@example.gov.cn", "organization": orgs["central_procurement"],
            "roles": str(role_id(w, "电子卖场管理")), "active": "y", "password": "password8",
            "conf_password": "password8"}
    res = submit(client, "/orguserview/add", data)
    html = res.get_data(as_text=True)
    assert "不能授予角色“电子卖场管理”：该角色的范围是全省" in html
    from core.security import ErpUser

    with w.app.app_context():
        assert db.session.execute(select(ErpUser).where(ErpUser.username == "emall_mgr")).first() is None
    # the province's region admin may
    client = web(w, "prov_admin")
    assert submit(client, "/orguserview/add", data).status_code == 302


def test_fab_user_pages_are_the_platform_admins_only(grants) -> None:
    w, _, _ = grants
    for level, (admin, _) in ADMINS.items():
        client = web(w, admin)
        res = client.get("/users/add")
        if level == "platform":
            assert res.status_code == 200
        else:
            assert res.status_code in (302, 403, 404), (level, res.status_code)
