"""收货地址 left blank is the purchaser unit's address (the cart's placeholder says
默认本单位地址 and shows it), never empty: the registered address, else the unit's name at its
region when the unit has none registered (the demo purchaser 长春市第一中学 has none)."""

from __future__ import annotations

from sqlalchemy import select, text, update

from core.db import db
from core.models import Organization
from tests.addons.emall.test_emall_pages import client_of, csrf


def _no_address(em, key: str) -> None:
    with em.app.app_context():
        db.session.execute(update(Organization).where(Organization.id == em.org[key])
                           .values(address=None).execution_options(erp_unscoped=True))
        db.session.commit()


def _addresses(em) -> list[str | None]:
    return [r[0] for r in em.sql(select(text("delivery_address")).select_from(text("emall_order"))
                                 .order_by(text("id")))]


def test_blank_address_is_the_unit_address(em) -> None:
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", price="300.00", reference="300.00")
    em.buy("pur", lid)
    em.call("POST", "emall_order/", "pur", {"lines": [{"listing": lid, "quantity": 1}],
                                            "delivery_address": "   "}, expect=201)
    name = em.sql(select(text("name, address")).select_from(text("erp_organization"))
                  .where(text(f"id = {em.org['pur_cc']}")))[0]
    assert _addresses(em) == [name[1], name[1]]


def test_unit_without_registered_address_gets_its_region_and_name(em) -> None:
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", price="300.00", reference="300.00")
    _no_address(em, "pur_cc")
    pur = client_of(em, "pur")
    em.cart("pur", (lid, 1))
    cart = pur.get("/emall/cart/").get_data(as_text=True)
    with em.app.app_context():
        unit = db.session.get(Organization, em.org["pur_cc"])
        from core.models import Region

        region = db.session.get(Region, unit.region_id)
        expected_tail = f"{region.name}{unit.name}"
    assert "默认本单位地址：吉林省" in cart and expected_tail in cart
    res = pur.post("/emall/cart/checkout", data={"csrf_token": csrf(cart), "delivery_address": ""})
    assert res.status_code == 302
    (saved,) = _addresses(em)
    assert saved and saved.startswith("吉林省") and saved.endswith(expected_tail)
    oid = em.sql(select(text("id")).select_from(text("emall_order")))[0][0]
    page = pur.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert saved in page
    # cleared on the order afterwards: the default again, not empty
    em.call("PUT", f"emall_order/{oid}", "pur", {"delivery_address": ""}, expect=200)
    assert _addresses(em) == [saved]
