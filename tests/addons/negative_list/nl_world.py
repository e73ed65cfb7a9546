"""procurement_base's test world (``pb``) with ``negative_list`` installed and enabled, a
province finance office with a negative-list manager (``nl_admin``), and helpers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.models import Organization, Region
from core.services.credit_code import make
from tests import dbcache
from tests.addons.procurement_base.pb_world import (
    PASSWORD,
    World,
    pb,  # noqa: F401  (fixture)
)
from tests.conftest import cli, installer

BARRIERS = ("第二章 供应商资格要求\n"
            "一、投标人注册资本不低于1000万元。\n"
            "二、供应商须在本市设立分支机构。\n"
            "第四章 评分标准\n"
            "具有吉林省内同类项目业绩的，每个得1分。\n"
            "第六章 投标文件格式\n"
            "本公司注册资本不低于500万元。")


@pytest.fixture
def nl(pb: World) -> World:  # noqa: F811  (the fixture above)
    dbcache.cached(pb.app, "world:nl", lambda: _build(pb))
    return pb


def _build(pb: World) -> dict[str, Any]:  # noqa: F811
    app = pb.app
    assert installer(app).install(["negative_list"]) == ["negative_list"]
    assert cli(app, "tenant", "enable", "220000", "negative_list").exit_code == 0
    with app.app_context():
        province = db.session.execute(select(Region.id).where(Region.code == "220000")).scalar_one()
        org = Organization(name="吉林省财政厅（测试）", org_type="finance", region_id=province,
                           credit_code=make("11220000MA0TEXT11"), active=True)
        db.session.add(org)
        db.session.commit()
        code = org.credit_code
    res = cli(app, "user", "create", "--username", "nl_admin", "--password", PASSWORD,
              "--role", "负面清单管理", "--org", code)
    assert res.exit_code == 0, res.output
    return {}


def draft_project(w: World, number: str = "NL-001") -> int:
    p = w.project(number, user="pur", notice_date="2025-03-03")
    w.package(p, user="pur")
    return p


def document(w: World, project: int, content: str = BARRIERS, user: str = "pur",
             expect: int | None = 201):
    return w.post("nl_document", {"project": project, "title": "招标文件", "content": content},
                  user, expect=expect)


def findings(w: World, project: int, user: str = "admin") -> list[dict[str, Any]]:
    res = w.call("GET", f"nl_finding/?q=(filters:!((col:project,opr:rel_o_m,value:{project})),"
                 "order_column:offset,order_direction:asc,page_size:100)", user, expect=200)
    return res.json["result"]


def act(w: World, finding: int, name: str, body: dict[str, Any], user: str, expect: int | None = None):
    """POST /api/v1/nl_finding/<id>/<action>."""
    return w.call("POST", f"nl_finding/{finding}/{name}", user, body, expect)
