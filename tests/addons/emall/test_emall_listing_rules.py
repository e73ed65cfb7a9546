# ruff: noqa: F811 - the ``em`` fixture is imported, then requested by name
"""One rules object for listings, read by the API and the page alike (issue 11): a listed
product keeps its brand, model and category, and only drafts may be deleted, whichever
door is used."""

from __future__ import annotations

import pytest

from core.db import db
from core.errors import ConflictError
from core.tenancy import SYSTEM, use_scope
from tests.addons.emall.em_world import em  # noqa: F401
from tests.core.test_web import login_form


def test_api_and_page_share_the_listing_rules(em) -> None:
    from addons.emall import rules
    from addons.emall.api import ListingApi
    from addons.emall.models import EmallListing
    from addons.emall.views import ListingView

    assert ListingApi.model_rules() is rules.LISTING and ListingView.model_rules() is rules.LISTING
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a")  # listed
    # the API refuses a new brand and a delete (409), nothing changed
    res = em.call("PUT", f"emall_listing/{lid}", "sup_a", {"brand": "联想"}, expect=409)
    assert "先下架" in res.json["message"]["status"][0]
    em.call("DELETE", f"emall_listing/{lid}", "sup_a", expect=409)
    # the rules object says the same to any caller (the page's pre_update / pre_delete)
    with em.app.app_context(), use_scope(SYSTEM):
        listing = db.session.get(EmallListing, lid)
        listing.brand = "联想"
        with pytest.raises(ConflictError):
            rules.LISTING.before_update(db.session, listing)
        db.session.rollback()
        listing = db.session.get(EmallListing, lid)
        with pytest.raises(ConflictError) as err:
            rules.LISTING.check_delete(db.session, listing)
        assert "只能删除草稿商品" in err.value.messages["status"][0]
        db.session.rollback()
    # the page's delete is refused too: the listing stays, listed
    client = em.app.test_client()
    login_form(client, "sup_a", "secret123")
    client.post(f"/listingview/delete/{lid}")
    with em.app.app_context():
        assert db.session.get(EmallListing, lid).status == "listed"
    # a draft nobody ordered may be deleted (API)
    draft = em.listing("sup_a", listed=False)
    em.call("DELETE", f"emall_listing/{draft}", "sup_a", expect=200)
