"""The demo data of procurement_base loads on both databases and follows the business rules.

Every row is read back and checked in Python (``Decimal``, dates): counts, credit codes,
key dates in order for the project's status, package budgets within the project budget,
bids consistent with the status, contracts within the winning bid, payment plans summing
to the contract amount, payments never above it (completed contracts fully paid), and the
records that the generic scoping test needs (长春市 and 吉林市 in every region-scoped
table, the first two suppliers by id with bids, contracts, plans and payments).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import db, metadata
from core.services.credit_code import validate
from tests.conftest import cli, installer, query

SCOPED = ("pb_project", "pb_package", "pb_bid", "pb_contract", "pb_payment_plan", "pb_payment")
AS_OF = "2025-11-28"
#: opened (开标: published -> bidding records the opening date); a failed procurement may
#: have been opened or have failed at the deadline
OPENED = {"bidding", "evaluated", "awarded", "contracted", "completed"}
AWARDED = {"awarded", "contracted", "completed"}
SIGNED = {"contracted", "completed"}
SME_LABEL = {"large": "none", "medium": "medium", "small": "small", "micro": "micro"}


@pytest.fixture
def demo_app(app):
    """The project add-ons are always in the registry (``PROJECT_ADDONS``)."""
    # base is installed by `erp db init`; installing with demo also loads base's demo
    # organisations, which ours refer to
    assert installer(app).install(["procurement_base"], demo=True) == ["procurement_base"]
    return app


def rows(app, table: str) -> list[dict]:
    """Every row of ``table`` as a dict, typed by the models (Decimal, date, datetime)."""
    t = metadata.tables[table]
    with app.app_context(), db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]


def test_demo_data(demo_app) -> None:
    app = demo_app
    from addons.procurement_base.models import (
        BID_STATES,
        CONTRACT_STATES,
        METHODS,
        PROJECT_STATES,
        SME_LABELS,
        SME_MEASURES,
    )

    orgs = {o["id"]: o for o in rows(app, "erp_organization")}
    regions = {r["id"]: r["code"] for r in rows(app, "erp_region")}
    projects = {p["id"]: p for p in rows(app, "pb_project")}
    packages = {p["id"]: p for p in rows(app, "pb_package")}
    bids = rows(app, "pb_bid")
    contracts = {c["id"]: c for c in rows(app, "pb_contract")}
    plans = rows(app, "pb_payment_plan")
    catalog = {c["id"]: c for c in rows(app, "pb_catalog")}
    payments = rows(app, "pb_payment")

    # -- counts --------------------------------------------------------------------------
    suppliers = sorted(o["id"] for o in orgs.values() if o["org_type"] == "supplier")
    assert len(suppliers) >= 30
    assert query(app, "select count(*) from erp_organization where org_type = 'supplier'")[0][0] \
        == len(suppliers)
    assert {o["size"] for o in orgs.values() if o["org_type"] == "supplier"} == {
        "large", "medium", "small", "micro"}
    assert len(projects) >= 20
    assert {p["status"] for p in projects.values()} == set(PROJECT_STATES)
    assert len({p["method"] for p in projects.values()}) >= 5

    # -- organisations: valid unique credit codes, region code inside, parents ---------------
    codes = [o["credit_code"] for o in orgs.values() if o["credit_code"]]
    assert len(codes) == len(set(codes))
    for o in orgs.values():
        if o["credit_code"]:
            assert validate(o["credit_code"]) == o["credit_code"], o["name"]
        if o["org_type"] == "supplier":
            assert o["size"] in SME_LABEL, o["name"]
    demo_orgs = query(app, "select res_id from erp_model_data where module = 'procurement_base' "
                           "and table_name = 'erp_organization'")
    for (oid,) in demo_orgs:
        o = orgs[oid]
        assert o["credit_code"][2:8] == regions[o["region_id"]], o["name"]
        if o["org_type"] == "purchaser":  # under its competent budget unit (主管预算单位)
            assert orgs[o["parent_id"]]["org_type"] == "competent_unit", o["name"]
    demo_regions = {regions[orgs[oid]["region_id"]] for (oid,) in demo_orgs}
    for prefix in ("2201", "2202", "2224"):  # 长春市, 吉林市, 延边州
        assert any(code.startswith(prefix) for code in demo_regions), prefix
    assert {"220102", "220104"} <= demo_regions  # 南关区, 朝阳区
    # banks and the insurer are base's, not duplicated
    assert sum(o["org_type"] == "bank" for o in orgs.values()) == 2
    assert sum(o["org_type"] == "insurer" for o in orgs.values()) == 1

    # -- projects --------------------------------------------------------------------------
    numbers = [(p["region_id"], p["number"]) for p in projects.values()]
    assert len(numbers) == len(set(numbers))
    pkgs_of: dict[int, list[dict]] = defaultdict(list)
    for k in packages.values():
        pkgs_of[k["project_id"]].append(k)
        assert k["region_id"] == projects[k["project_id"]]["region_id"]
    bids_of: dict[int, list[dict]] = defaultdict(list)
    for b in bids:
        assert b["status"] in BID_STATES
        bids_of[b["package_id"]].append(b)
    contracts_of: dict[int, list[dict]] = defaultdict(list)
    for c in contracts.values():
        assert c["status"] in CONTRACT_STATES and c["sme_label"] in SME_LABELS, c["number"]
        contracts_of[c["package_id"]].append(c)

    for p in projects.values():
        where = p["number"]
        status = p["status"]
        assert p["method"] in METHODS and p["sme_measure"] in SME_MEASURES, where
        assert orgs[p["purchaser_id"]]["org_type"] in ("purchaser", "competent_unit"), where
        assert catalog[p["catalog_id"]]["level"] == 2, where  # e.g. A02 设备
        assert p["region_id"] == orgs[p["purchaser_id"]]["region_id"], where
        if p["agency_id"]:
            assert orgs[p["agency_id"]]["org_type"] in ("agency", "central_procurement"), where
        budget = p["budget"]
        assert isinstance(budget, Decimal) and budget > 0, where
        reserved = p["sme_reserved_amount"]
        if p["sme_measure"] == "none":
            assert reserved is None, where
        else:
            assert reserved is not None and 0 < reserved <= budget, where
        if p["sme_measure"] == "whole":
            assert reserved == budget, where
        # key dates in order, present as the status requires
        dates = [p["notice_date"], p["bid_deadline"] and p["bid_deadline"].date(),
                 p["opening_date"], p["award_date"], p["contract_date"]]
        present = [d for d in dates if d is not None]
        assert present == sorted(present), where
        assert (p["notice_date"] is None) == (status == "draft"), where
        assert (p["bid_deadline"] is None) == (status == "draft"), where
        if status != "failed":
            assert (p["opening_date"] is not None) == (status in OPENED), where
        assert (p["award_date"] is not None) == (status in AWARDED), where
        assert (p["contract_date"] is not None) == (status in SIGNED), where
        if status == "published":  # accepting bids
            assert str(p["bid_deadline"].date()) > AS_OF, where
        for d in present:
            assert status == "published" or str(d) <= AS_OF, where

        # packages within the budget
        pkgs = pkgs_of[p["id"]]
        assert pkgs, where
        assert sum(k["budget"] for k in pkgs) <= budget, where
        reserved_pkgs = [k for k in pkgs if k["sme_reserved"]]
        if p["sme_measure"] == "whole":
            assert len(reserved_pkgs) == len(pkgs), where
        if p["sme_measure"] == "package":
            assert reserved_pkgs and sum(k["budget"] for k in reserved_pkgs) == reserved, where

        for k in pkgs:
            kb = bids_of[k["id"]]
            states = sorted(b["status"] for b in kb)
            for b in kb:
                assert b["region_id"] == p["region_id"], where
                assert orgs[b["supplier_id"]]["org_type"] == "supplier", where
                assert b["price"] > 0, where
                assert p["notice_date"] <= b["submitted_at"].date(), where
                assert b["submitted_at"] < p["bid_deadline"], where
                if k["sme_reserved"] and b["status"] == "won":
                    assert orgs[b["supplier_id"]]["size"] != "large", where
            if status in ("draft", "terminated"):
                assert not kb, where
            elif status == "published":
                assert set(states) <= {"submitted", "withdrawn"}, where
            elif status in ("bidding", "evaluated"):
                assert kb and set(states) <= {"submitted", "withdrawn"}, where
            elif status == "failed":
                assert kb and set(states) <= {"lost", "withdrawn"}, where
            else:
                assert states.count("won") == 1, where
                assert set(states) <= {"won", "lost", "withdrawn"}, where
            won = [b for b in kb if b["status"] == "won"]
            kc = contracts_of[k["id"]]
            if status not in AWARDED:
                assert not kc, where
                continue
            (win,) = won
            assert win["price"] <= k["budget"], where
            (c,) = kc
            assert c["project_id"] == p["id"] and c["source"] == "project", where
            assert c["supplier_id"] == win["supplier_id"], where
            assert c["purchaser_id"] == p["purchaser_id"], where
            assert c["region_id"] == p["region_id"], where
            assert 0 < c["amount"] <= win["price"], where
            assert c["over_bid_reason"] is None, where
            assert c["sme_label"] == SME_LABEL[orgs[c["supplier_id"]]["size"]], where
            if status == "awarded":
                assert c["status"] == "draft" and c["signed_date"] is None, where
            else:
                assert c["signed_date"] is not None, where
                assert p["award_date"] <= p["contract_date"] <= c["signed_date"], where
                assert str(c["signed_date"]) <= AS_OF, where
                assert c["status"] in (("completed",) if status == "completed"
                                       else ("signed", "performing")), where

    # -- payment plans and payments ----------------------------------------------------------
    plans_of: dict[int, list[dict]] = defaultdict(list)
    for pl in plans:
        plans_of[pl["contract_id"]].append(pl)
    paid_of: dict[int, list[dict]] = defaultdict(list)
    for pay in payments:
        paid_of[pay["contract_id"]].append(pay)
    for c in contracts.values():
        where = c["number"]
        cp = plans_of[c["id"]]
        assert cp, where
        assert sum(pl["amount"] for pl in cp) == c["amount"], where
        assert sorted(pl["seq"] for pl in cp) == list(range(1, len(cp) + 1)), where
        award = projects[c["project_id"]]["award_date"]
        for pl in cp:
            assert pl["amount"] > 0 and pl["region_id"] == c["region_id"], where
            assert pl["due_date"] >= (c["signed_date"] or award), where
        paid = paid_of[c["id"]]
        total = sum((pay["amount"] for pay in paid), Decimal(0))
        assert total <= c["amount"], where
        for pay in paid:
            assert pay["amount"] > 0 and pay["region_id"] == c["region_id"], where
            assert c["signed_date"] is not None and c["signed_date"] <= pay["paid_date"], where
            assert str(pay["paid_date"]) <= AS_OF, where
        if c["status"] == "completed":
            assert total == c["amount"], where
        if c["status"] in ("draft", "signed"):
            assert not paid, where

    # -- what the generic scoping test needs ---------------------------------------------------
    for table in SCOPED:
        codes_in = {regions[r] for (r,) in query(app, f"select region_id from {table}")}
        assert any(c.startswith("2201") for c in codes_in), f"{table}: no record in 长春市"
        assert any(c.startswith("2202") for c in codes_in), f"{table}: no record in 吉林市"
    first_two = suppliers[:2]
    for sid in first_two:
        mine = [c for c in contracts.values() if c["supplier_id"] == sid]
        assert any(b["supplier_id"] == sid for b in bids), sid
        assert mine, sid
        assert any(plans_of[c["id"]] for c in mine), sid
        assert any(paid_of[c["id"]] for c in mine), sid
    assert len({c["supplier_id"] for c in contracts.values()}) >= 10


def test_demo_reload_is_idempotent(demo_app) -> None:
    app = demo_app
    before = {t: query(app, f"select count(*) from {t}")[0][0]
              for t in ("erp_organization", *SCOPED)}
    assert installer(app).load_demo(["procurement_base"]) == ["procurement_base"]
    after = {t: query(app, f"select count(*) from {t}")[0][0]
             for t in ("erp_organization", *SCOPED)}
    assert after == before


def test_demo_users_of_both_cities(demo_app) -> None:
    res = cli(demo_app, "demo", "users")
    assert res.exit_code == 0, res.output
    for username in ("purchaser", "jl_purchaser", "supplier", "supplier_jl"):
        assert f" {username} " in res.output, res.output
