"""The notices world: procurement_base's small world (pb_world) plus notice_hub enabled for
the province, a publishing official of 长春市第二中学 (nh_pur), one of 吉林市第一医院
(nh_jl) and a supervisor of 长春市财政局 (nh_sup). Import ``nh`` into a test module."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from core.db import db
from tests import dbcache
from tests.addons.procurement_base.pb_world import PASSWORD, World, pb  # noqa: F401
from tests.conftest import cli, installer

NH_USERS = {"nh_pur": ("公告发布", "pur_cc"), "nh_jl": ("公告发布", "pur_jl"),
            "nh_sup": ("公告监督", "fin_cc")}


@pytest.fixture
def nh(pb) -> World:  # noqa: F811
    def build() -> dict[str, Any]:
        assert installer(pb.app).install(["notice_hub"]) == ["notice_hub"]
        assert cli(pb.app, "tenant", "enable", "220000", "notice_hub").exit_code == 0
        for username, (role, org) in NH_USERS.items():
            res = cli(pb.app, "user", "create", "--username", username, "--password", PASSWORD,
                      "--role", role, "--org", pb.code[org])
            assert res.exit_code == 0, res.output
        return {}

    dbcache.cached(pb.app, "world:nh", build)
    return pb


def draft(w: World, *, org: str = "pur_cc", region: str = "220102", kind: str = "award",
          source_id: int = 1, title: str = "长春市第二中学教学设备采购项目中标结果公告",
          body: str = "中标供应商：长春甲科技（测试）有限公司，中标金额 550,000.00 元。",
          event_date: dt.date = dt.date(2025, 3, 31), **kw: Any):
    from core.notices import NoticeDraft

    return NoticeDraft(kind=kind, region_id=w.region[region], title=title, body=body,
                       source="procurement_base.pb_project", source_id=source_id,
                       event_date=event_date, publisher_org_id=w.org[org],
                       purchaser_org_id=w.org[org], amount=kw.pop("amount", Decimal("550000.00")),
                       **kw)


def submit(w: World, d: Any):
    from core.notices import submit as core_submit

    with w.app.app_context():
        ref = core_submit(db.session, d)
        db.session.commit()
        return ref
