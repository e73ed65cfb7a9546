"""Row scoping, proven for EVERY region-scoped API of every installed add-on.

The test discovers the APIs itself (any ModelRestApi of an installed module whose model is
``RegionScoped``), so a module added later is covered with no new test code. Its demo data
must hold at least one record in 长春市 (220100 or below) and one in 吉林市 (220200 or
below). A city user of 长春市 gets 404 for a 吉林市 record by id, does not see it in lists,
cannot update or delete it, and cannot create a record in 吉林市; a province user can do
all of it. Models with a supplier record rule: a supplier never sees another supplier's
records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from flask_appbuilder import ModelRestApi
from sqlalchemy import String, inspect, select

from core.addons.security import sync_module_roles
from core.db import db
from core.models import Organization, Region
from core.tenancy import RegionScoped
from tests import dbcache
from tests.conftest import cli, installer
from tests.core.test_web import jwt

pytestmark = pytest.mark.slow  # a crawl: scheduled first (tests/conftest.py)
ROLE = "Scope Tester"


def scoped_apis(app) -> list[tuple[str, ModelRestApi]]:
    state = app.extensions["erp"]
    installed = installer(app).installed()
    out = []
    for module, views in state.views_by_module.items():
        if module not in installed:
            continue
        for view in views:
            if isinstance(view, ModelRestApi) and issubclass(view.datamodel.obj, RegionScoped):
                out.append((module, view))
    return out


@pytest.fixture
def world(app):
    inst = installer(app)
    inst.install([n for n in inst.registry.order if inst.registry[n].installable], demo=True)
    apis = scoped_apis(app)
    assert apis, "at least the fixture add-on exposes a region-scoped API"
    dbcache.cached(app, f"world:scoping:{dbcache.source_key(_world_setup)}",
                   lambda: _world_setup(app, apis))
    return app, apis


def _world_setup(app, apis: list[tuple[str, ModelRestApi]]) -> dict:
    """Enabled for the province, a role granted every scoped API, a 长春市 user and a
    province user (one database snapshot, restored by every test after the first)."""
    inst = installer(app)
    assert cli(app, "tenant", "enable", "220000", *inst.installed()).exit_code == 0
    grants = tuple(f"* on {view.class_permission_name}" for _, view in apis)
    pairs = [p for m, _ in apis for p in app.extensions["erp"].pairs(m)]
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {ROLE: grants}, pairs, "test")
    for user, region in (("cc_user", "220100"), ("prov_user", "220000")):
        res = cli(app, "user", "create", "--username", user, "--password", "secret123",
                  "--role", ROLE, "--region", region)
        assert res.exit_code == 0, res.output
    return {}


def region_ids(app, code: str) -> set[int]:
    with app.app_context():
        regions = db.session.execute(select(Region.id, Region.code, Region.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    by_code = {}
    for rid, rcode, parent in regions:
        children.setdefault(parent, []).append(rid)
        by_code[rcode] = rid
    out, todo = set(), [by_code[code]]
    while todo:
        r = todo.pop()
        out.add(r)
        todo.extend(children.get(r, ()))
    return out


def one_record(app, model, regions: set[int]):
    with app.app_context():
        stmt = select(model).where(model.region_id.in_(regions)).order_by(model.id)
        secret = getattr(model, "__secret_until__", None)
        if secret is not None:  # a sealed record is nobody's but its owner's (test_visibility)
            stmt = stmt.where(secret.opened(model))
        rec = db.session.execute(stmt).scalars().first()
        assert rec is not None, (
            f"{model.__name__}: demo data needs a record in 长春市 and one in 吉林市 "
            "for the scoping test"
        )
        return rec.id


def payload_like(app, view: ModelRestApi, record_id: int, region_id: int) -> dict:
    """A POST body copied from an existing record, unique strings made unique, in a region."""
    model = view.datamodel.obj
    mapper = inspect(model)
    body = {}
    with app.app_context():
        rec = db.session.get(model, record_id)
        for col in view.add_columns:
            if col in mapper.relationships:
                rel = getattr(rec, col)
                if isinstance(rel, list):  # a to-many relation: the ids
                    body[col] = [r.id for r in rel]
                else:
                    body[col] = rel.id if rel is not None else None
            else:
                value = getattr(rec, col)
                column = mapper.columns[col]
                if isinstance(column.type, String) and column.unique and value is not None:
                    value = f"{value[: max(1, (column.type.length or 32) - 9)]}-{uuid.uuid4().hex[:8]}"
                if isinstance(value, Decimal):
                    value = str(value)
                elif isinstance(value, (dt.date, dt.datetime)):
                    value = value.isoformat()
                body[col] = value
    if "region" in body:
        body["region"] = region_id
    return body


def has_route(view: ModelRestApi, name: str) -> bool:
    """Whether the API serves FAB's standard route ``name`` (read-only APIs have no post,
    put or delete: nothing to prove for writes there)."""
    included = view.include_route_methods
    return (included is None or name in included) and name not in (view.exclude_route_methods or ())


def list_all(client, base: str, headers: dict) -> tuple[int, set[int]]:
    """The list's ``count`` and the ids of every page (a region may hold more than a page)."""
    ids: set[int] = set()
    page, total = 0, None
    while True:
        listed = client.get(f"{base}?q=(page:{page},page_size:100)", headers=headers).json
        total = listed["count"] if total is None else total
        rows = listed["result"] or []
        ids |= {r["id"] for r in rows} if rows and "id" in rows[0] else set(listed["ids"])
        if not rows or len(ids) >= total:
            return total, ids
        page += 1


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(model.id)).all().__len__()


def test_region_scoping_for_every_scoped_api(world) -> None:
    app, apis = world
    client = app.test_client()
    city = jwt(client, "cc_user", "secret123")
    province = jwt(client, "prov_user", "secret123")
    cc_regions, jl_regions = region_ids(app, "220100"), region_ids(app, "220200")
    jl_region = min(jl_regions)
    for module, view in apis:
        model = view.datamodel.obj
        base = f"/api/v1/{view.resource_name}/"
        jl_id, cc_id = one_record(app, model, jl_regions), one_record(app, model, cc_regions)
        where = f"{module}:{view.resource_name}"

        # the city user: 吉林市 is invisible and untouchable
        assert client.get(f"{base}{jl_id}", headers=city).status_code == 404, where
        assert client.get(f"{base}{cc_id}", headers=city).status_code == 200, where
        count_, ids = list_all(client, base, city)
        assert jl_id not in ids and cc_id in ids, where
        assert count_ == len(ids), where
        body = payload_like(app, view, cc_id, jl_region)
        edit = {k: v for k, v in body.items() if k in view.edit_columns}
        if has_route(view, "put"):
            assert client.put(f"{base}{jl_id}", json=edit, headers=city).status_code == 404, where
        if has_route(view, "delete"):
            assert client.delete(f"{base}{jl_id}", headers=city).status_code == 404, where
        if has_route(view, "post"):
            before = count(app, model)
            res = client.post(base, json=body, headers=city)
            assert res.status_code == 403, (where, res.status_code, res.json)
            assert res.json["message"] == {"region_id": ["所选地区不在您的管辖范围内，未保存任何数据"]}
            assert count(app, model) == before, where
        if has_route(view, "put"):
            # moving one of its own records into 吉林市 is refused too
            res = client.put(f"{base}{cc_id}", json={**edit, "region": jl_region}, headers=city)
            assert res.status_code == 403, where

        # the province user can do all of it: scoping never refuses (a module's own business
        # rules may still answer 409/422 for a body copied from another record)
        assert client.get(f"{base}{jl_id}", headers=province).status_code == 200, where
        listed = client.get(f"{base}?q=(page_size:100)", headers=province).json
        assert listed["count"] >= 2, where
        if has_route(view, "put"):
            res = client.put(f"{base}{jl_id}", json=edit, headers=province)
            assert res.status_code in (200, 409, 422), (where, res.status_code, res.json)
        if has_route(view, "post"):
            res = client.post(base, json=payload_like(app, view, cc_id, jl_region), headers=province)
            assert res.status_code in (201, 409, 422), (where, res.status_code, res.json)
            if res.status_code == 201 and has_route(view, "delete"):
                assert client.delete(f"{base}{res.json['id']}", headers=province).status_code == 200


def test_supplier_record_rule(world) -> None:
    """For every model with a supplier rule: a supplier's API list is exactly the records the
    rule gives it, and a record that belongs to another supplier only answers 404."""
    from core.tenancy import Scope

    app, apis = world
    ruled = [(m, v) for m, v in apis if "supplier" in getattr(v.datamodel.obj, "__record_rules__", {})]
    assert ruled, "the fixture add-on declares a supplier rule"
    with app.app_context():
        suppliers = db.session.execute(
            select(Organization.id, Organization.credit_code)
            .where(Organization.org_type == "supplier", Organization.credit_code.is_not(None))
            .order_by(Organization.id)
        ).all()
    client = app.test_client()
    tokens: dict[int, dict] = {}

    def token(org_id: int, code: str) -> dict:
        if org_id not in tokens:
            username = f"sup_{org_id}"
            res = cli(app, "user", "create", "--username", username, "--password", "secret123",
                      "--role", ROLE, "--org", code)
            assert res.exit_code == 0, res.output
            tokens[org_id] = jwt(client, username, "secret123")
        return tokens[org_id]

    for module, view in ruled:
        model = view.datamodel.obj
        rule = model.__record_rules__["supplier"]
        owned: dict[int, set[int]] = {}
        with app.app_context():
            for org_id, _ in suppliers:
                scope = Scope(actor="supplier", org_id=org_id)
                owned[org_id] = {
                    r for (r,) in db.session.execute(
                        select(model.id).where(rule(model, scope)),
                        execution_options={"erp_unscoped": True},
                    )
                }
        with_records = [(o, c) for o, c in suppliers if owned[o]]
        assert len(with_records) >= 2, f"{module}: demo data needs records of two suppliers"
        base = f"/api/v1/{view.resource_name}/"
        for org_id, code in with_records[:2]:
            headers = token(org_id, code)
            listed = client.get(f"{base}?q=(page_size:100)", headers=headers).json
            assert set(listed["ids"]) == owned[org_id], (module, org_id)
            others = set().union(*(ids for o, ids in owned.items() if o != org_id)) - owned[org_id]
            for other in sorted(others)[:5]:
                assert client.get(f"{base}{other}", headers=headers).status_code == 404, (module, other)


def test_user_of_another_city_does_not_see_the_module(app) -> None:
    installer(app).install(["fx_scoped"], demo=True)
    assert cli(app, "tenant", "enable", "220100", "fx_scoped").exit_code == 0
    with app.app_context(), db.engine.begin() as conn:
        pairs = app.extensions["erp"].pairs("fx_scoped")
        sync_module_roles(conn, "tests", {ROLE: ("* on FxDocApi",)}, pairs, "test")
    for user, region in (("cc_user", "220100"), ("jl_user", "220200")):
        cli(app, "user", "create", "--username", user, "--password", "secret123", "--role", ROLE,
            "--region", region)
    client = app.test_client()
    assert client.get("/api/v1/fx_doc/", headers=jwt(client, "cc_user", "secret123")).status_code == 200
    assert client.get("/api/v1/fx_doc/", headers=jwt(client, "jl_user", "secret123")).status_code == 404


def test_cross_region_actor_sees_module_enabled_anywhere_and_only_those_regions(app) -> None:
    """A supplier of 长春市 sees the module while it is enabled only in 吉林市, and only the
    吉林市 records of its own (the region rule is replaced by the supplier rule limited to
    regions where the module is enabled)."""
    installer(app).install(["fx_scoped"], demo=True)
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {ROLE: ("* on FxDocApi",)},
                          app.extensions["erp"].pairs("fx_scoped"), "test")
        sup_jl = conn.execute(
            select(Organization.credit_code).where(Organization.name == "吉林测试供应商有限公司")
        ).scalar_one()
    cli(app, "user", "create", "--username", "sup", "--password", "secret123", "--role", ROLE,
        "--org", sup_jl)
    client = app.test_client()
    headers = jwt(client, "sup", "secret123")
    assert client.get("/api/v1/fx_doc/", headers=headers).status_code == 404, "enabled nowhere"
    assert cli(app, "tenant", "enable", "220100", "fx_scoped").exit_code == 0
    listed = client.get("/api/v1/fx_doc/", headers=headers)
    assert listed.status_code == 200
    # its records: NG-001 (南关区, enabled via 长春市) and JL-001 (吉林市, not enabled)
    assert sorted(r["number"] for r in listed.json["result"]) == ["NG-001"]
    assert cli(app, "tenant", "enable", "220200", "fx_scoped").exit_code == 0
    listed = client.get("/api/v1/fx_doc/", headers=headers)
    assert sorted(r["number"] for r in listed.json["result"]) == ["JL-001", "NG-001"]


def test_scoping_applies_to_aliased_joins(world) -> None:
    """FAB lists with dotted columns (``project.number``) join a related scoped model under
    an alias: the criteria must reach the alias too, with each user's own regions."""
    from sqlalchemy.orm import aliased

    from core.tenancy import Scope, use_scope

    app, _ = world
    cc, jl = region_ids(app, "220100"), region_ids(app, "220200")
    from addons.fx_scoped.models import FxDoc

    with app.app_context():
        for regions in (cc, jl):
            doc2 = aliased(FxDoc)
            stmt = select(FxDoc.id, doc2.id).join(doc2, doc2.supplier_id == FxDoc.supplier_id)
            with use_scope(Scope(actor="purchaser", region_id=min(regions), region_ids=frozenset(regions))):
                rows = db.session.execute(stmt).all()
            assert rows, "some documents share a supplier inside the region"
            with app.app_context():
                region_of = dict(db.session.execute(select(FxDoc.id, FxDoc.region_id)).all())
            for a, b in rows:
                assert region_of[a] in regions and region_of[b] in regions, (a, b)


def test_out_of_region_write_is_refused_before_validation(world) -> None:
    """A body that is both invalid and aimed at another region answers 403, not 422: the
    validation messages must not tell a 长春市 user anything about 吉林市 data."""
    app, _ = world
    client = app.test_client()
    city = jwt(client, "cc_user", "secret123")
    jl_region = min(region_ids(app, "220200"))
    body = {"number": "X-1", "title": "x", "amount": "not money", "region": jl_region}
    res = client.post("/api/v1/fx_doc/", json=body, headers=city)
    assert res.status_code == 403 and res.json["message"] == {
        "region_id": ["所选地区不在您的管辖范围内，未保存任何数据"]
    }
    own = min(region_ids(app, "220100"))
    res = client.post("/api/v1/fx_doc/", json={**body, "region": own}, headers=city)
    assert res.status_code == 422 and "amount" in res.json["message"]


def test_no_api_column_hides_records_with_an_empty_relation(world) -> None:
    """An API column ``rel.x`` over a nullable relation to a region-scoped model makes FAB
    outer-join ``rel``, and the inner join of that model's region chained to it drops every
    record whose ``rel`` is empty (found on notices: the API listed no notice that refers to
    no earlier one). Such a column is listed by its foreign key (``rel_id``) instead."""
    app, _ = world
    state = app.extensions["erp"]
    hiding = []
    for module, views in state.views_by_module.items():
        for view in views:
            if not isinstance(view, ModelRestApi):
                continue
            mapper = inspect(view.datamodel.obj)
            for col in {*(view.list_columns or ()), *(view.show_columns or ())}:
                rel_name = col.split(".")[0]
                if "." not in col or rel_name not in mapper.relationships:
                    continue
                rel = mapper.relationships[rel_name]
                nullable = rel.direction.name == "MANYTOONE" and any(
                    c.nullable for c in rel.local_columns)
                if nullable and issubclass(rel.mapper.class_, RegionScoped):
                    hiding.append(f"{module}:{view.resource_name}.{col}")
    assert hiding == []
