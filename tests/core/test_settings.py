"""Settings: declarations, typed values (Decimal, never float), inheritance province ->
city -> county, override and reset, refusal of bad input with nothing written, audit of
every change, the region limits of a city admin, and the admin page."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from core.addons.security import sync_module_roles
from core.db import db
from core.services import settings
from core.tenancy import Scope, use_scope
from tests.conftest import cli, query
from tests.core.test_web import login_form

KEYS = {
    "tests.bid_cap_percent": dict(type="percent", default="2", label_zh="投标保证金上限",
                                  help_zh="占采购项目预算的百分比",
                                  source="《政府采购法实施条例》第三十三条"),
    "tests.rate": dict(type="decimal", default=Decimal("0.02"), label_zh="测试费率"),
    "tests.refund_days": dict(type="int", default=5, label_zh="退还期限（工作日）",
                              source="财库〔2017〕87号 第三十八条"),
    "tests.flag": dict(type="bool", default=False, label_zh="测试开关"),
    "tests.cutoff": dict(type="date", default=dt.date(2022, 5, 1), label_zh="清理截止日"),
    "tests.title": dict(type="str", default="吉林", label_zh="测试文本"),
}


@pytest.fixture(autouse=True)
def declared():
    for key, kw in KEYS.items():
        settings.declare(key, module="tests", **kw)
    yield
    for key in KEYS:
        settings.undeclare(key)


def rid(app, code: str) -> int:
    return query(app, "SELECT id FROM erp_region WHERE code = :c", c=code)[0][0]


def audit_rows(app) -> list[tuple]:
    return query(app, "SELECT action, object_id, region_id, before, after, actor "
                      "FROM erp_audit_log WHERE object_type = 'erp_setting_value' ORDER BY id")


def do(app, fn):
    with app.app_context():
        try:
            out = fn(db.session)
            db.session.commit()
            return out
        finally:
            db.session.rollback()


# -- declarations and typed values -------------------------------------------------------------
def test_declarations_are_typed_and_validated() -> None:
    d = settings.declaration("tests.rate")
    assert d.default == Decimal("0.02") and isinstance(d.default, Decimal)
    assert settings.declaration("tests.bid_cap_percent").default == Decimal("2")
    assert [x.key for x in settings.declared("tests")] == sorted(KEYS)
    with pytest.raises(ValueError, match="bad default"):
        settings.declare("tests.bad", type="int", default="x", label_zh="坏", module="tests")
    with pytest.raises(ValueError, match="bad default"):
        settings.declare("tests.bad", type="decimal", default=0.02, label_zh="坏", module="tests")
    with pytest.raises(ValueError, match="already declared by module 'tests'"):
        settings.declare("tests.rate", type="decimal", default="1", label_zh="x", module="other")
    with pytest.raises(ValueError, match="dotted lower-case"):
        settings.declare("Rate", type="decimal", default="1", label_zh="x", module="tests")
    with pytest.raises(settings.SettingError, match="未声明"):
        settings.declaration("tests.nope")


@pytest.mark.parametrize(
    ("key", "raw", "typed"),
    [
        ("tests.rate", "0.02", Decimal("0.02")),
        ("tests.rate", " 1,000.50 ", Decimal("1000.50")),
        ("tests.rate", Decimal("0.10"), Decimal("0.10")),
        ("tests.bid_cap_percent", "2%", Decimal("2")),
        ("tests.bid_cap_percent", "2.5 ％", Decimal("2.5")),
        ("tests.refund_days", "10", 10),
        ("tests.refund_days", 7, 7),
        ("tests.flag", "是", True),
        ("tests.flag", "false", False),
        ("tests.cutoff", "2023-05-01", dt.date(2023, 5, 1)),
        ("tests.title", "长春", "长春"),
    ],
)
def test_set_and_get_typed_values(app, key, raw, typed) -> None:
    cc = rid(app, "220100")
    do(app, lambda s: settings.set(key, raw, cc, "admin", session=s))
    got = do(app, lambda s: settings.get(key, cc, session=s))
    assert got == typed and type(got) is type(typed)


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("tests.rate", "abc", "“abc”不是有效的小数"),
        ("tests.rate", "  ", "请输入小数"),
        ("tests.rate", 0.02, "不能使用浮点数"),
        ("tests.rate", "NaN", "不是有效的小数"),
        ("tests.bid_cap_percent", "-1", "百分比不能为负数"),
        ("tests.refund_days", "1.5", "不是有效的整数"),
        ("tests.flag", "maybe", "请填写“是”或“否”"),
        ("tests.cutoff", "2023-13-01", "请按 2025-01-01 的格式填写"),
        ("tests.title", 12, "不是有效的文本"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_written(app, key, raw, message) -> None:
    cc = rid(app, "220100")
    with pytest.raises(settings.SettingError) as err:
        do(app, lambda s: settings.set(key, raw, cc, "admin", session=s))
    assert message in str(err.value)
    assert str(err.value).startswith(KEYS[key]["label_zh"] + "：")
    assert query(app, "SELECT COUNT(*) FROM erp_setting_value") == [(0,)]
    assert audit_rows(app) == []


# -- resolution ----------------------------------------------------------------------------
def test_inheritance_province_city_county_override_and_reset(app) -> None:
    prov, cc, nanguan, jl = (rid(app, c) for c in ("220000", "220100", "220102", "220200"))

    def get(region):
        return do(app, lambda s: settings.get("tests.rate", region, session=s))

    assert get(nanguan) == Decimal("0.02"), "the declared default"
    do(app, lambda s: settings.set("tests.rate", "0.05", None, "admin", session=s))
    assert get(nanguan) == Decimal("0.05") and get(None) == Decimal("0.05"), "platform-wide"
    do(app, lambda s: settings.set("tests.rate", "0.04", prov, "admin", session=s))
    assert get(nanguan) == Decimal("0.04") and get(jl) == Decimal("0.04")
    assert get(None) == Decimal("0.05")
    do(app, lambda s: settings.set("tests.rate", "0.03", cc, "admin", session=s))
    assert get(nanguan) == Decimal("0.03") and get(cc) == Decimal("0.03")
    assert get(jl) == Decimal("0.04") and get(prov) == Decimal("0.04")
    do(app, lambda s: settings.set("tests.rate", "0.01", nanguan, "admin", session=s))
    assert get(nanguan) == Decimal("0.01") and get(cc) == Decimal("0.03")

    res = do(app, lambda s: settings.resolve("tests.rate", nanguan, session=s))
    assert (res.source, res.source_region_id, res.own) == ("region", nanguan, Decimal("0.01"))
    assert do(app, lambda s: settings.reset("tests.rate", nanguan, "admin", session=s)) is True
    res = do(app, lambda s: settings.resolve("tests.rate", nanguan, session=s))
    assert (res.value, res.source, res.source_region_id, res.own) == (
        Decimal("0.03"), "ancestor", cc, None)
    assert do(app, lambda s: settings.reset("tests.rate", nanguan, "admin", session=s)) is False
    do(app, lambda s: settings.reset("tests.rate", cc, session=s))
    do(app, lambda s: settings.reset("tests.rate", prov, session=s))
    assert get(nanguan) == Decimal("0.05")
    do(app, lambda s: settings.reset("tests.rate", None, session=s))
    res = do(app, lambda s: settings.resolve("tests.rate", nanguan, session=s))
    assert (res.value, res.source) == (Decimal("0.02"), "default")

    everything = do(app, lambda s: settings.resolve_all(cc, session=s))
    assert set(everything) >= set(KEYS)
    assert everything["tests.refund_days"].value == 5


def test_values_are_stored_as_json_text_without_floats(app) -> None:
    cc = rid(app, "220100")
    do(app, lambda s: settings.set("tests.rate", "0.02", cc, "admin", session=s))
    do(app, lambda s: settings.set("tests.cutoff", "2023-05-01", cc, "admin", session=s))
    stored = dict(query(app, "SELECT key, value FROM erp_setting_value"))
    assert stored == {"tests.rate": '"0.02"', "tests.cutoff": '"2023-05-01"'}
    assert query(app, "SELECT changed_by FROM erp_setting_value") == [("admin",), ("admin",)]


def test_changes_are_audited_with_before_and_after(app) -> None:
    cc = rid(app, "220100")
    do(app, lambda s: settings.set("tests.rate", "0.02", cc, "alice", session=s,
                                   reason="市财政局文件"))
    do(app, lambda s: settings.set("tests.rate", "0.03", cc, "bob", session=s))
    do(app, lambda s: settings.reset("tests.rate", cc, "carol", session=s))
    rows = audit_rows(app)
    assert [(a, o, r, actor) for a, o, r, _, _, actor in rows] == [
        ("setting_set", "tests.rate", cc, "alice"),
        ("setting_set", "tests.rate", cc, "bob"),
        ("setting_reset", "tests.rate", cc, "carol"),
    ]
    assert rows[0][3] is None and json.loads(rows[0][4]) == {"value": "0.02"}
    assert json.loads(rows[1][3]) == {"value": "0.02"} and json.loads(rows[1][4]) == {"value": "0.03"}
    assert json.loads(rows[2][3]) == {"value": "0.03"} and rows[2][4] is None
    assert query(app, "SELECT reason, module FROM erp_audit_log WHERE actor = 'alice'") == [
        ("市财政局文件", "tests")
    ]


def test_city_scope_may_edit_only_its_region_and_descendants(app) -> None:
    cc, nanguan, jl = rid(app, "220100"), rid(app, "220102"), rid(app, "220200")
    with app.app_context():
        from core.tenancy import snapshot

        city = Scope(actor="finance", user_id=99, region_id=cc,
                     region_ids=snapshot().subtree(cc))
    with use_scope(city):
        do(app, lambda s: settings.set("tests.rate", "0.03", cc, "cc_admin", session=s))
        do(app, lambda s: settings.set("tests.rate", "0.01", nanguan, "cc_admin", session=s))
        for region in (jl, None):
            with pytest.raises(settings.SettingError) as err:
                do(app, lambda s, r=region: settings.set("tests.rate", "0.09", r, session=s))
            assert err.value.code == "forbidden"
        with pytest.raises(settings.SettingError):
            do(app, lambda s: settings.reset("tests.rate", None, session=s))
    assert query(app, "SELECT COUNT(*) FROM erp_setting_value") == [(2,)]


# -- admin page ------------------------------------------------------------------------------
def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_admin_page_shows_default_source_and_effective_value(app) -> None:
    prov = rid(app, "220000")
    do(app, lambda s: settings.set("tests.bid_cap_percent", "1.5", prov, "admin", session=s))
    client = app.test_client()
    login_form(client)
    page = client.get("/erp/settings/?region=220102").get_data(as_text=True)
    assert "参数设置" in page and "投标保证金上限" in page
    assert "《政府采购法实施条例》第三十三条" in page
    row = re.search(r'<tr data-key="tests.bid_cap_percent">(.*?)</tr>', page, re.S).group(1)
    assert "2%" in row, "the default"
    assert "1.5%" in row and "继承自吉林省" in row
    page = client.get("/erp/settings/?region=platform").get_data(as_text=True)
    assert "全省通用（平台级）" in page


def test_admin_page_override_reset_and_bad_input(app) -> None:
    client = app.test_client()
    login_form(client)
    page = client.get("/erp/settings/?region=220100").get_data(as_text=True)
    token = csrf(page)
    res = client.post("/erp/settings/set", data={"csrf_token": token, "key": "tests.rate",
                                                 "region": "220100", "value": "0.0x"},
                      follow_redirects=True)
    text = res.get_data(as_text=True)
    assert "未保存" in text and "“0.0x”不是有效的小数" in text
    assert query(app, "SELECT COUNT(*) FROM erp_setting_value") == [(0,)]
    res = client.post("/erp/settings/set", data={"csrf_token": token, "key": "tests.rate",
                                                 "region": "220100", "value": "0.035",
                                                 "reason": "试点"},
                      follow_redirects=True)
    assert "已保存" in res.get_data(as_text=True)
    assert query(app, "SELECT value FROM erp_setting_value") == [('"0.035"',)]
    assert query(app, "SELECT actor, reason FROM erp_audit_log WHERE action = 'setting_set'") \
        == [("admin", "试点")]
    res = client.post("/erp/settings/reset", data={"csrf_token": token, "key": "tests.rate",
                                                   "region": "220100"}, follow_redirects=True)
    assert "已恢复" in res.get_data(as_text=True)
    assert query(app, "SELECT COUNT(*) FROM erp_setting_value") == [(0,)]
    # without the CSRF token nothing happens
    res = client.post("/erp/settings/set", data={"key": "tests.rate", "region": "220100",
                                                 "value": "0.5"})
    assert res.status_code == 400
    assert query(app, "SELECT COUNT(*) FROM erp_setting_value") == [(0,)]


def test_city_admin_page_limited_to_own_region_and_descendants(app) -> None:
    state = app.extensions["erp"]
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {"City Settings": ("can_read on Settings",
                                                            "can_write on Settings")},
                          state.core_pairs(), "test")
    assert cli(app, "user", "create", "--username", "cc_admin", "--password", "secret123",
               "--role", "City Settings", "--region", "220100").exit_code == 0
    client = app.test_client()
    login_form(client, "cc_admin", "secret123")
    page = client.get("/erp/settings/").get_data(as_text=True)
    assert "长春市（220100）" in page and "吉林市（220200）" not in page
    assert "全省通用（平台级）" not in page
    assert client.get("/erp/settings/?region=220200").status_code == 404
    assert client.get("/erp/settings/?region=platform").status_code == 404
    token = csrf(client.get("/erp/settings/?region=220102").get_data(as_text=True))
    for region in ("220200", "platform"):
        res = client.post("/erp/settings/set", data={"csrf_token": token, "key": "tests.rate",
                                                     "region": region, "value": "0.5"})
        assert res.status_code == 404
    assert query(app, "SELECT COUNT(*) FROM erp_setting_value") == [(0,)]
    res = client.post("/erp/settings/set", data={"csrf_token": token, "key": "tests.rate",
                                                 "region": "220102", "value": "0.5"},
                      follow_redirects=True)
    assert "已保存" in res.get_data(as_text=True)
    assert query(app, "SELECT r.code, s.value, s.changed_by FROM erp_setting_value s "
                      "JOIN erp_region r ON r.id = s.region_id") == [("220102", '"0.5"', "cc_admin")]
