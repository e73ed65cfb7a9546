# ruff: noqa: F811 - the ``xm`` fixture is imported, then requested by name
"""The cold-chain rule for biologics (listings and orders) and the steering of
livestock-system purchasers to the pavilion."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text

from core.db import db
from core.models import Organization, Region
from core.services import settings
from core.tenancy import SYSTEM, use_scope
from tests.addons.emall_livestock.xm_world import xm  # noqa: F401
from tests.conftest import cli, query


def _attrs(category) -> dict:
    """Valid attribute values for a category's template."""
    out = {}
    for a in category.attributes or []:
        out[a["key"]] = {"choice": a.get("choices", [""])[0], "number": "10", "bool": True}.get(
            a["type"], "测试值")
    return out


def _category(code: str):
    from addons.emall.models import EmallCategory

    return db.session.scalar(select(EmallCategory).where(EmallCategory.code == code))


def _new_listing(xm, code: str, *, cold_chain: bool, supplier: str = "sup_cc_huamu",
                 model: str = "CC-1"):
    from addons.emall.models import EmallListing

    cat = _category(code)
    return EmallListing(supplier_id=xm.xmlid(f"emall_livestock.{supplier}"), category=cat,
                        name=f"测试{cat.name}", brand="测试牌", model=model,
                        price=Decimal("50.00"), reference_price=Decimal("60.00"), stock=10,
                        attributes=_attrs(cat), cold_chain=cold_chain)


# -- cold chain: listings -------------------------------------------------------------------------
def test_listing_in_cold_chain_category_needs_cold_chain(xm):
    from addons.emall.services import RuleError, validate_listing

    with xm.app.app_context(), use_scope(SYSTEM):
        x = _new_listing(xm, "A070505-01", cold_chain=False)
        with pytest.raises(RuleError) as err:
            validate_listing(db.session, x)
        assert list(err.value.messages) == ["cold_chain"]
        msg = err.value.messages["cold_chain"][0]
        assert "口蹄疫疫苗" in msg and "冷链配送" in msg
        x.cold_chain = True
        validate_listing(db.session, x)  # accepted
        # a drug needs no cold chain
        validate_listing(db.session, _new_listing(xm, "A070504-01", cold_chain=False, model="D-1",
                                                  supplier="sup_cc_jinyuan"))
        db.session.rollback()


def test_cold_chain_is_inherited_by_new_subcategories(xm):
    from addons.emall.models import EmallCategory
    from addons.emall.services import RuleError, validate_listing

    with xm.app.app_context(), use_scope(SYSTEM):
        parent = _category("A070505")
        sub = EmallCategory(code="A070505-99", name="新增疫苗品种", parent=parent,
                            pb_catalog_id=parent.pb_catalog_id, pavilion="livestock",
                            attributes=parent.attributes, requires_cold_chain=False, sequence=990)
        db.session.add(sub)
        db.session.flush()
        with pytest.raises(RuleError) as err:
            validate_listing(db.session, _new_listing(xm, "A070505-99", cold_chain=False))
        assert "兽用生物制品（疫苗）" in err.value.messages["cold_chain"][0]
        db.session.rollback()


def test_listing_api_refuses_without_cold_chain_and_writes_nothing(xm):
    with xm.app.app_context():
        cat = _category("A070505-02")
        attrs = _attrs(cat)
        cat_id = cat.id
        province = db.session.scalar(select(Region.id).where(Region.code == "220100"))
    before = query(xm.app, "SELECT count(*) FROM emall_listing")
    body = {"category": cat_id, "name": "重组禽流感病毒（H5+H7）三价灭活疫苗", "brand": "测试牌",
            "model": "H5H7-API", "price": "80.00", "reference_price": "90.00", "stock": 20,
            "attributes": attrs, "cold_chain": False, "regions": [province]}
    res = xm.api("POST", "emall_listing/", "xm_sup", json=body)
    assert res.status_code == 422, res.get_data(as_text=True)
    assert "冷链配送" in res.json["message"]["cold_chain"][0]
    assert query(xm.app, "SELECT count(*) FROM emall_listing") == before
    res = xm.api("POST", "emall_listing/", "xm_sup", json={**body, "cold_chain": True})
    assert res.status_code == 201, res.get_data(as_text=True)


# -- cold chain: orders ----------------------------------------------------------------------------
def _listed_cold_listing(xm, region_codes: list[str]) -> int:
    """A listed vaccine of an admitted supplier, with its (cold-chain) delivery regions."""

    with xm.app.app_context():
        x = _new_listing(xm, "A070505-06", cold_chain=True, model=f"PCV-{'-'.join(region_codes)}")
        x.status = "listed"
        x.pavilion = "livestock"
        x.brand_key, x.model_key, x.search_text = "测试牌", x.model.lower(), "猪瘟"
        x.regions = list(db.session.scalars(select(Region).where(Region.code.in_(region_codes))))
        db.session.add(x)
        db.session.commit()
        return x.id


def _order(xm, listing_id: int, purchaser: str = "xm_pur"):
    from addons.emall.models import EmallListing
    from addons.emall.services import place_order

    listing = db.session.get(EmallListing, listing_id)
    buyer = db.session.get(Organization, xm.org[purchaser])
    with use_scope(SYSTEM):
        return place_order(db.session, buyer, listing.supplier, [{"listing": listing, "quantity": 2}])


def test_order_outside_cold_chain_coverage_is_refused(xm):
    from addons.emall.services import RuleError

    only_jilin = _listed_cold_listing(xm, ["220200"])
    with xm.app.app_context():
        stock = db.session.execute(text("SELECT stock FROM emall_listing WHERE id = :i"),
                                   {"i": only_jilin}).scalar()
        with pytest.raises(RuleError) as err:
            _order(xm, only_jilin)  # a 长春市 purchaser
        db.session.rollback()
        msg = err.value.messages["lines"][0]
        assert "冷链配送范围不包括长春市" in msg
        assert db.session.execute(text("SELECT stock FROM emall_listing WHERE id = :i"),
                                  {"i": only_jilin}).scalar() == stock
        # a 吉林市 purchaser is covered
        order = _order(xm, only_jilin, "xm_jl")
        assert order.status == "placed" and all(ln.cold_chain for ln in order.lines)
        db.session.rollback()


def test_cold_chain_rule_applies_only_where_emall_livestock_is_enabled(xm):
    """Issue 11: the rule is a region-gated hook. emall_livestock disabled for 吉林市
    (220200): a 吉林市 order of a cold-chain product without cold-chain delivery is accepted;
    the same order in 长春市, where the module stays enabled, is refused."""
    from addons.emall.services import RuleError

    listing = _listed_cold_listing(xm, ["220000"])
    with xm.app.app_context():
        db.session.execute(text("UPDATE emall_listing SET cold_chain = :f WHERE id = :i"),
                           {"f": False, "i": listing})
        db.session.commit()
    assert cli(xm.app, "tenant", "disable", "220200", "emall_livestock").exit_code == 0
    try:
        with xm.app.app_context():
            order = _order(xm, listing, "xm_jl")  # a 吉林市 purchaser: the rule is off there
            assert order.status == "placed" and not any(ln.cold_chain for ln in order.lines)
            db.session.rollback()
            with pytest.raises(RuleError) as err:
                _order(xm, listing)  # a 长春市 purchaser: refused
            db.session.rollback()
            assert "未提供冷链配送" in err.value.messages["lines"][0]
    finally:
        assert cli(xm.app, "tenant", "enable", "220200", "emall_livestock").exit_code == 0
    with xm.app.app_context():  # enabled again: 吉林市 is refused too
        with pytest.raises(RuleError):
            _order(xm, listing, "xm_jl")
        db.session.rollback()


def test_order_of_biologic_without_cold_chain_is_refused_then_accepted(xm):
    from addons.emall.services import RuleError

    listing = _listed_cold_listing(xm, ["220000"])
    with xm.app.app_context():
        # listed before the category required the cold chain: the flag is off
        db.session.execute(text("UPDATE emall_listing SET cold_chain = :f WHERE id = :i"),
                           {"f": False, "i": listing})
        db.session.commit()
        with pytest.raises(RuleError) as err:
            _order(xm, listing)
        db.session.rollback()
        assert "未提供冷链配送" in err.value.messages["lines"][0]
    # through the API: 422, the message, no order
    orders = query(xm.app, "SELECT count(*) FROM emall_order")
    res = xm.api("POST", "emall_order/", "xm_pur", json={"lines": [{"listing": listing, "quantity": 1}]})
    assert res.status_code == 422, res.get_data(as_text=True)
    assert "未提供冷链配送" in res.json["message"]["lines"][0]
    assert query(xm.app, "SELECT count(*) FROM emall_order") == orders
    # the supplier confirms cold-chain delivery: the same order goes through
    with xm.app.app_context():
        db.session.execute(text("UPDATE emall_listing SET cold_chain = :t WHERE id = :i"),
                           {"t": True, "i": listing})
        db.session.commit()
    res = xm.api("POST", "emall_order/", "xm_pur", json={"lines": [{"listing": listing, "quantity": 1}]})
    assert res.status_code == 201, res.get_data(as_text=True)


def test_orders_outside_cold_chain_categories_are_untouched(xm):
    from addons.emall.models import EmallListing

    with xm.app.app_context():
        drug = db.session.scalar(select(EmallListing).where(
            EmallListing.status == "listed", EmallListing.cold_chain.is_(False),
            EmallListing.pavilion == "livestock", EmallListing.stock > 5,
            EmallListing.price < 1000).order_by(EmallListing.id).limit(1))
        order = _order(xm, drug.id)
        assert not any(ln.cold_chain for ln in order.lines)
        db.session.rollback()


# -- steering -----------------------------------------------------------------------------------------
def test_steering_units(xm):
    from addons.emall_livestock.services import is_steered, steering_unit

    with xm.app.app_context():
        assert steering_unit(db.session, xm.org["xm_pur"]).organization.name == "长春市畜牧业管理局"
        assert is_steered(db.session, xm.org["xm_cu"]) and is_steered(db.session, xm.org["xm_jl"])
        assert not is_steered(db.session, xm.org["school"])
        assert not is_steered(db.session, None)
        # without subordinates only the unit itself is steered
        db.session.execute(text("UPDATE emall_livestock_purchaser SET include_subordinates = :f"),
                           {"f": False})
        assert not is_steered(db.session, xm.org["xm_pur"]) and is_steered(db.session, xm.org["xm_cu"])
        # an inactive entry steers nobody
        db.session.execute(text("UPDATE emall_livestock_purchaser SET active = :f"), {"f": False})
        assert not is_steered(db.session, xm.org["xm_cu"])
        db.session.rollback()


def test_livestock_purchaser_is_redirected_to_the_pavilion(xm):
    browser = xm.browser("xm_pur")
    res = browser.get("/emall/")
    assert res.status_code == 302 and res.headers["Location"].endswith("/livestock/")
    page = browser.get("/livestock/").get_data(as_text=True)
    assert 'id="xm-steering"' in page and "长春市畜牧业管理局" in page
    # a search in the general e-mall is the user's choice: no redirect
    assert browser.get("/emall/?q=打印机").status_code == 200
    # "进入综合卖场": no more redirects in this session
    res = browser.get("/livestock/general")
    assert res.status_code == 302 and "/emall/" in res.headers["Location"]
    assert browser.get("/emall/").status_code == 200
    # other purchasers and anonymous visitors see the e-mall's landing page
    assert xm.browser("school").get("/emall/").status_code == 200
    assert xm.browser().get("/emall/").status_code == 200
    # the API tells clients
    assert xm.api("GET", "emall_livestock/steering", "xm_pur").json["steered"] is True
    body = xm.api("GET", "emall_livestock/steering", "school").json
    assert body["steered"] is False and body["pavilion_url"] == "/livestock/"


def test_redirect_setting_off_shows_a_link_instead(xm):
    with xm.app.app_context():
        settings.set("emall_livestock.redirect_purchasers", "否", None, session=db.session)
        db.session.commit()
    browser = xm.browser("xm_pur")
    res = browser.get("/emall/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "畜牧行业馆" in html and 'href="/livestock/"' in html


def test_purchaser_list_rules(xm):
    from tests.conftest import cli

    school = xm.org["school"]
    # the platform admin lists a unit; again is a 409
    res = xm.api("POST", "emall_livestock_purchaser/", json={"organization": school, "note": "测试"})
    assert res.status_code == 201, res.get_data(as_text=True)
    res = xm.api("POST", "emall_livestock_purchaser/", json={"organization": school})
    assert res.status_code == 409 and "已在" in res.json["message"]["organization"][0]
    # a supplier is not a purchaser
    res = xm.api("POST", "emall_livestock_purchaser/",
                 json={"organization": xm.xmlid("emall_livestock.sup_cc_huamu")})
    assert res.status_code == 422 and res.json["message"]["organization"] == ["只能列入采购人或主管预算单位"]
    # a 长春市 region admin cannot list a 吉林市 unit
    assert cli(xm.app, "user", "create", "--username", "cc_admin", "--password", "secret123",
               "--role", "地区管理员", "--region", "220100").exit_code == 0
    res = xm.api("POST", "emall_livestock_purchaser/", "cc_admin",
                 json={"organization": xm.xmlid("base.pur_jl_hospital")})
    assert res.status_code == 422
    assert "管辖地区" in res.json["message"]["organization"][0]
    res = xm.api("POST", "emall_livestock_purchaser/", "cc_admin",
                 json={"organization": school})
    assert res.status_code == 409  # listed above by the admin
    # nor remove one
    jl = query(xm.app, "SELECT p.id FROM emall_livestock_purchaser p JOIN erp_organization o "
                       "ON o.id = p.organization_id WHERE o.name = '吉林市畜牧业管理局'")[0][0]
    res = xm.api("DELETE", f"emall_livestock_purchaser/{jl}", "cc_admin")
    assert res.status_code == 422 and "管辖地区" in res.json["message"]["organization"][0]
    assert query(xm.app, "SELECT count(*) FROM emall_livestock_purchaser WHERE id = :i", i=jl) == [(1,)]
    # suppliers and purchasers have no access to the list
    assert xm.api("GET", "emall_livestock_purchaser/", "xm_pur").status_code == 403
    # every change of the list is audited (who, when, before / after)
    listed = query(xm.app, "SELECT id FROM emall_livestock_purchaser WHERE organization_id = :o",
                   o=school)[0][0]
    assert xm.api("PUT", f"emall_livestock_purchaser/{listed}", json={"active": False}).status_code == 200
    assert xm.api("DELETE", f"emall_livestock_purchaser/{listed}").status_code == 200
    log = query(xm.app, "SELECT action, actor FROM erp_audit_log WHERE object_type = "
                        "'emall_livestock_purchaser' AND object_id = :i ORDER BY id", i=str(listed))
    assert [a for a, _ in log] == ["create", "update", "delete"] and log[0][1] == "admin"


def test_cli_cold_chain_check_and_steering(xm):
    import json

    from tests.conftest import cli

    res = cli(xm.app, "livestock", "cold-chain-check", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == []  # the demo keeps the rule
    listing = _listed_cold_listing(xm, ["220100"])
    with xm.app.app_context():
        db.session.execute(text("UPDATE emall_listing SET cold_chain = :f WHERE id = :i"),
                           {"f": False, "i": listing})
        db.session.commit()
        code = db.session.get(Organization, xm.org["xm_pur"]).credit_code
        school = db.session.get(Organization, xm.org["school"]).credit_code
    res = cli(xm.app, "livestock", "cold-chain-check")
    assert res.exit_code == 0 and "1 件冷链品目商品未提供冷链配送" in res.output and f"#{listing}" in res.output
    res = cli(xm.app, "livestock", "steering", code)
    assert res.exit_code == 0 and "长春市畜牧业管理局" in res.output
    assert "不是畜牧系统采购单位" in cli(xm.app, "livestock", "steering", school).output
    assert cli(xm.app, "livestock", "steering", "91220000MA00000000").exit_code != 0
