"""Who sees what (issue 12 finding 2; docs/security.md "Who sees what", docs/tenancy.md).

Visibility has three reaches: purchasers and private procurement agencies see the business
records of their own unit (projects, packages, bids, contracts, payments, deposits and
their ledger, draw requests, assignments, evaluations, e-mall orders...), not the whole
region; supervisors (region admin, auditor, centralized procurement institution) see their
region subtree. A bid is secret until bid opening: before it only the supplier that
submitted it knows it exists (招标投标法第二十二条; 财政部令第87号), the platform admin
included.

Like ``test_scoping``, the test discovers every API and page of every installed add-on
whose model holds business records (a region-scoped model referring to a project, package,
contract, deposit, order... or to a purchaser) and proves the rule for each against an
oracle computed here from the foreign keys, independently of the record rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest
from flask_appbuilder import ModelRestApi, ModelView
from sqlalchemy import inspect, select

from core.db import db
from core.models import Organization, Region
from core.tenancy import OWN_RULE, RegionScoped
from tests import dbcache
from tests.conftest import cli, installer
from tests.core.test_web import jwt, login_form

pytestmark = pytest.mark.slow  # a crawl: scheduled first (tests/conftest.py)
PASSWORD = "demo12345"
#: columns that make a region-scoped record a business record of some unit
OWNER_COLUMNS = ("purchaser_id", "agency_id", "holder_id", "evaluator_org_id", "project_id",
                 "package_id",
                 "contract_id", "deposit_id", "entry_id", "request_id", "order_id",
                 "comparison_id", "bid_id")
#: own-reach users of the demo (purchasers) and one of a private procurement agency
OWN_USERS = ("purchaser", "xm_purchaser", "jl_purchaser", "private_agency")
SUPERVISORS = ("auditor", "city_admin")


def is_business_record(model: type) -> bool:
    if not issubclass(model, RegionScoped):
        return False
    cols = inspect(model).columns
    return any(c in cols for c in OWNER_COLUMNS)


@pytest.fixture
def world(app):
    inst = installer(app)
    inst.install([n for n in inst.registry.order if inst.registry[n].installable], demo=True)
    dbcache.cached(app, f"world:visibility:{dbcache.source_key(_world_setup)}",
                   lambda: _world_setup(app))
    return app


def _world_setup(app) -> dict:
    """Enabled for the province, the demo users, a private procurement agency's user (one
    database snapshot, restored by every test after the first)."""
    inst = installer(app)
    assert cli(app, "tenant", "enable", "220000", *inst.installed()).exit_code == 0
    res = cli(app, "demo", "users", "--password", PASSWORD)
    assert res.exit_code == 0, res.output
    with app.app_context():
        code = db.session.execute(select(Organization.credit_code).where(
            Organization.name == "长春市公共资源交易代理有限公司")).scalar_one()
    res = cli(app, "user", "create", "--username", "private_agency", "--password", PASSWORD,
              "--role", "采购代理机构", "--org", code)
    assert res.exit_code == 0, res.output
    return {}


class Oracle:
    """Owners of every business record, from the foreign keys (SYSTEM scope)."""

    def __init__(self, app: Any) -> None:
        from addons.procurement_base.models import Bid, Contract, Package, Project

        self.app = app
        with app.app_context():
            s = db.session
            self.project = {i: {p, a} - {None} for i, p, a in s.execute(
                select(Project.id, Project.purchaser_id, Project.agency_id))}
            self.project_status = dict(s.execute(select(Project.id, Project.status)).all())
            self.project_opening = dict(s.execute(select(Project.id, Project.opening_date)).all())
            self.package = dict(s.execute(select(Package.id, Package.project_id)).all())
            self.contract = {i: {p} | self.project.get(pr, set()) for i, p, pr in s.execute(
                select(Contract.id, Contract.purchaser_id, Contract.project_id))}
            self.bid = {i: (pkg, sup) for i, pkg, sup in s.execute(
                select(Bid.id, Bid.package_id, Bid.supplier_id))}
            regions = s.execute(select(Region.id, Region.parent_id)).all()
            self.children: dict[int | None, list[int]] = {}
            for rid, parent in regions:
                self.children.setdefault(parent, []).append(rid)
            self.orgs = {o.id: o for o in s.execute(select(Organization)).scalars()}
            self.tables: dict[str, dict[int, set[int]]] = {}

    def subtree(self, region_id: int) -> set[int]:
        out, todo = set(), [region_id]
        while todo:
            r = todo.pop()
            out.add(r)
            todo.extend(self.children.get(r, ()))
        return out

    def units(self, org_id: int) -> set[int]:
        return {o.id for o in self.orgs.values() if o.id == org_id or o.parent_id == org_id}

    def rows(self, model: type) -> dict[int, tuple[int, set[int]]]:
        """id -> (region, owner organisations) of every record of ``model``."""
        from addons.deposit_ledger.models import Deposit, DepositEntry

        names = [c for c in OWNER_COLUMNS if c in inspect(model).columns]
        out = {}
        with self.app.app_context():
            for row in db.session.execute(select(model.id, model.region_id,
                                                 *[getattr(model, n) for n in names])):
                owners: set[int] = set()
                for name, value in zip(names, row[2:], strict=True):
                    if value is None:
                        continue
                    if name in ("purchaser_id", "agency_id", "holder_id", "evaluator_org_id"):
                        owners.add(value)
                    elif name == "project_id":
                        owners |= self.project.get(value, set())
                    elif name == "package_id":
                        owners |= self.project.get(self.package.get(value), set())
                    elif name == "contract_id":
                        owners |= self.contract.get(value, set())
                    elif name == "bid_id":
                        owners |= self.project.get(self.package.get(self.bid[value][0]), set())
                    else:
                        owners |= self.indirect(name, value, Deposit, DepositEntry)
                out[row[0]] = (row[1], owners)
        return out

    def indirect(self, name: str, value: int, deposit: type, entry: type) -> set[int]:
        target = {"deposit_id": deposit, "entry_id": entry}.get(name)
        if target is None:
            target = _model_of_table({"request_id": "ec_draw_request", "order_id": "emall_order",
                                      "comparison_id": "emall_comparison"}[name])
        key = target.__tablename__
        if key not in self.tables:
            self.tables[key] = {i: owners for i, (_, owners) in self.rows(target).items()}
        return self.tables[key].get(value, set())

    def quote_sealed(self, quote_id: int) -> bool:
        """An e-mall quote is sealed while its comparison is open."""
        quote, comparison = (_model_of_table("emall_quote"), _model_of_table("emall_comparison"))
        with self.app.app_context():
            status = db.session.execute(select(comparison.status).join(
                quote, quote.comparison_id == comparison.id).where(quote.id == quote_id)).scalar_one()
        return status == "open"

    def sealed(self, bid_id: int) -> bool:
        project = self.package[self.bid[bid_id][0]]
        status = self.project_status[project]
        opened = status in ("bidding", "evaluated", "awarded", "contracted", "completed") or (
            status in ("terminated", "failed") and self.project_opening[project] is not None)
        return not opened


def _model_of_table(table: str) -> type:
    from core.db import Model

    for mapper in Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table:
            return mapper.class_
    raise LookupError(table)


def business_apis(app: Any) -> list[tuple[str, ModelRestApi]]:
    state = app.extensions["erp"]
    installed = installer(app).installed()
    return [(m, v) for m, views in state.views_by_module.items() if m in installed
            for v in views if isinstance(v, ModelRestApi) and is_business_record(v.datamodel.obj)]


def business_pages(app: Any) -> list[tuple[str, ModelView]]:
    state = app.extensions["erp"]
    installed = installer(app).installed()
    return [(m, v) for m, views in state.views_by_module.items() if m in installed
            for v in views if isinstance(v, ModelView) and is_business_record(v.datamodel.obj)]


def user_info(app: Any, username: str) -> tuple[int | None, int]:
    """(organisation, region) of a user."""
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username=username)
        return user.organization_id, user.effective_region_id


def expected_ids(oracle: Oracle, model: type, username: str) -> set[int]:
    """What ``username`` must see of ``model``: records of its region subtree, only those
    of its own units for own-reach users, never a bid before opening."""
    org_id, region_id = user_info(oracle.app, username)
    regions = oracle.subtree(region_id)
    org = oracle.orgs.get(org_id)
    own = org is not None and org.org_type in ("purchaser", "competent_unit", "agency")
    units = oracle.units(org_id) if own else set()
    out = set()
    for rid, (region, owners) in oracle.rows(model).items():
        if region not in regions:
            continue
        if own and not owners & units:
            continue
        if model.__tablename__ == "pb_bid" and oracle.sealed(rid):
            continue
        if model.__tablename__ == "emall_quote" and oracle.quote_sealed(rid):
            continue
        out.add(rid)
    return out


def list_ids(client: Any, base: str, headers: dict) -> set[int] | None:
    """Every id the list API gives (None: the user may not list it)."""
    ids: set[int] = set()
    page = 0
    while True:
        res = client.get(f"{base}?q=(page:{page},page_size:100)", headers=headers)
        if res.status_code in (401, 403, 404):
            return None
        assert res.status_code == 200, (base, res.status_code)
        rows = res.json["result"] or []
        ids |= set(res.json["ids"])
        if len(rows) < 100:
            return ids
        page += 1


def test_every_business_record_model_declares_its_owner(world) -> None:
    """A module that adds a business record without saying who owns it fails here."""
    models = {v.datamodel.obj for _, v in business_apis(world)}
    models |= {v.datamodel.obj for _, v in business_pages(world)}
    assert len(models) >= 10
    missing = [m.__name__ for m in models
               if not {OWN_RULE, "purchaser"} & set(getattr(m, "__record_rules__", {}))]
    assert not missing, f"business records without an owner rule: {missing}"


def test_reproduction_other_purchasers_bids_and_deposits(world) -> None:
    """Issue 12: xm_purchaser listed the prices of CCZC2025-007 (another purchaser's
    project) and 49 deposits of other units with the suppliers' payer accounts."""
    from addons.deposit_ledger.models import Deposit
    from addons.procurement_base.models import Package, Project

    app = world
    client = app.test_client()
    headers = jwt(client, "xm_purchaser", PASSWORD)
    with app.app_context():
        pkg = db.session.execute(select(Package.id).join(Project).where(
            Project.number == "CCZC2025-007")).scalars().first()
        foreign_deposits = db.session.execute(select(Deposit.id).where(
            Deposit.holder_id != user_info(app, "xm_purchaser")[0])).scalars().all()
    assert pkg is not None and foreign_deposits
    res = client.get(f"/api/v1/pb_bid/?q=(filters:!((col:package,opr:rel_o_m,value:{pkg})))",
                     headers=headers)
    assert res.status_code == 200 and res.json["count"] == 0, res.json
    listed = list_ids(client, "/api/v1/dl_deposit/", headers) or set()
    assert not listed & set(foreign_deposits)
    for dep in foreign_deposits[:10]:
        assert client.get(f"/api/v1/dl_deposit/{dep}", headers=headers).status_code == 404


def test_own_and_region_reach_for_every_business_record_api(world) -> None:
    app = world
    client = app.test_client()
    oracle = Oracle(app)
    apis = business_apis(app)
    assert any(v.resource_name == "pb_bid" for _, v in apis)
    checked: dict[str, int] = {}
    for username in (*OWN_USERS, *SUPERVISORS):
        headers = jwt(client, username, PASSWORD)
        for module, view in apis:
            model = view.datamodel.obj
            base = f"/api/v1/{view.resource_name}/"
            listed = list_ids(client, base, headers)
            if listed is None:
                continue
            want = expected_ids(oracle, model, username)
            where = (username, module, view.resource_name)
            assert listed == want, (where, sorted(listed - want)[:5], sorted(want - listed)[:5])
            # by id: a record of another unit (or region) is not found
            others = set(oracle.rows(model)) - want
            for other in sorted(others)[:3]:
                assert client.get(f"{base}{other}", headers=headers).status_code == 404, where
            checked[username] = checked.get(username, 0) + 1
    # every user could list several kinds of business records
    for username in (*OWN_USERS, *SUPERVISORS):
        assert checked.get(username, 0) >= 3, (username, checked)


def test_a_bid_is_secret_until_opening(world) -> None:
    """Before opening only the bidder knows the bid exists: not the project's purchaser,
    its agency, the auditor, the region admin or the platform admin."""
    from addons.procurement_base.models import Bid, Package, Project

    app = world
    oracle = Oracle(app)
    sealed = [b for b in oracle.bid if oracle.sealed(b)]
    opened = [b for b in oracle.bid if not oracle.sealed(b)]
    assert sealed and opened, "the demo holds bids before and after opening"
    client = app.test_client()
    with app.app_context():
        rows = db.session.execute(select(Bid.id, Bid.supplier_id, Project.purchaser_id,
                                         Project.agency_id, Project.region_id)
                                  .join(Package, Bid.package_id == Package.id)
                                  .join(Project, Package.project_id == Project.id)
                                  .where(Bid.id.in_(sealed))).all()
    admin = jwt(client)
    auditor = jwt(client, "auditor", PASSWORD)
    for bid_id, *_ in rows:
        assert client.get(f"/api/v1/pb_bid/{bid_id}", headers=admin).status_code == 404
        assert client.get(f"/api/v1/pb_bid/{bid_id}", headers=auditor).status_code == 404
    listed = list_ids(client, "/api/v1/pb_bid/", admin) or set()
    assert not listed & set(sealed) and set(opened) <= listed
    # the bidder itself sees its sealed bid
    bid_id, supplier_id, purchaser_id, _, _ = rows[0]
    with app.app_context():
        code = db.session.get(Organization, supplier_id).credit_code
        pcode = db.session.get(Organization, purchaser_id).credit_code
    for name, org in (("sealed_bidder", code), ("sealed_purchaser", pcode)):
        role = "供应商" if name == "sealed_bidder" else "采购人"
        assert cli(app, "user", "create", "--username", name, "--password", PASSWORD,
                   "--role", role, "--org", org).exit_code == 0
    bidder = jwt(client, "sealed_bidder", PASSWORD)
    assert client.get(f"/api/v1/pb_bid/{bid_id}", headers=bidder).status_code == 200
    purchaser = jwt(client, "sealed_purchaser", PASSWORD)
    assert client.get(f"/api/v1/pb_bid/{bid_id}", headers=purchaser).status_code == 404
    assert bid_id not in (list_ids(client, "/api/v1/pb_bid/", purchaser) or set())


def _show_urls(view: ModelView, ids: Iterable[int]) -> list[str]:
    return [f"{view.route_base}/show/{i}" for i in ids]


def test_every_business_record_page(world) -> None:
    """The pages (list and show) follow the same rule: a record of another unit answers
    404 on its show page and never appears in a list; an own record shows."""
    app = world
    oracle = Oracle(app)
    pages = business_pages(app)
    assert pages
    checked = 0
    for username in ("xm_purchaser", "purchaser", "private_agency"):
        client = app.test_client()
        login_form(client, username, PASSWORD)
        for module, view in pages:
            model = view.datamodel.obj
            listed = client.get(f"{view.route_base}/list/")
            if listed.status_code != 200:
                continue
            want = expected_ids(oracle, model, username)
            others = sorted(set(oracle.rows(model)) - want)
            where = (username, module, view.route_base)
            for url in _show_urls(view, others[:3]):
                res = client.get(url)
                assert res.status_code in (302, 404), (where, url, res.status_code)
            html = listed.get_data(as_text=True)
            shown = {int(i) for i in re.findall(rf'{re.escape(view.route_base)}/show/(\d+)', html)}
            assert not shown & set(others), (where, sorted(shown & set(others))[:5])
            for url in _show_urls(view, sorted(want)[:1]):
                assert client.get(url).status_code == 200, (where, url)
            checked += 1
    assert checked >= 6, checked


def test_the_demo_gives_every_role_work_to_see(world) -> None:
    """After narrowing purchasers to their own unit, every demo role still has records."""
    app = world
    client = app.test_client()
    for username, resources in {
        "purchaser": ("pb_project", "pb_bid", "pb_contract", "dl_deposit"),
        "xm_purchaser": ("emall_order",),  # a livestock unit: its work is in the e-mall
        "jl_purchaser": ("pb_project", "pb_bid"),
        "agency": ("pb_project", "pb_bid", "dl_deposit"),
        "private_agency": ("pb_project", "pb_bid"),
        "auditor": ("pb_project", "pb_bid", "pb_contract", "dl_deposit"),
        "city_admin": ("pb_project", "pb_bid", "pb_contract"),
        "supplier": ("pb_project", "pb_bid", "dl_deposit"),
    }.items():
        headers = jwt(client, username, PASSWORD)
        for resource in resources:
            res = client.get(f"/api/v1/{resource}/?q=(page_size:1)", headers=headers)
            assert res.status_code == 200, (username, resource, res.status_code)
            assert res.json["count"] >= 1, (username, resource)
