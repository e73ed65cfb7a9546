"""core.actions: an action declared once gives the API endpoint (with generated OpenAPI), the
page button and form (only for users whose permission and guard allow it), the error
mapping and the commit. Exercised on procurement_base's project transitions and the
deposit ledger's named actions; the unit part needs no app. Idempotency keys
(``idempotent=True``): on the deposit ledger's refund made idempotent for the test; two
same-key requests at the same moment on PostgreSQL give one write."""

from __future__ import annotations

import re
import threading
import time

import pytest
import yaml
from marshmallow import Schema, fields
from werkzeug.datastructures import MultiDict

from core.actions import Action, Actions, machine_refusal
from core.api.actions import _openapi
from core.errors import ForbiddenError, NotFoundError
from core.services.statemachine import StateMachine, Transition, TransitionError
from tests.addons.deposit_ledger.dl_world import dl  # noqa: F401
from tests.addons.procurement_base.pb_world import pb  # noqa: F401
from tests.addons.procurement_base.test_pb_pages import web

FLOW = StateMachine(field="state", states={"draft": "草稿", "done": "已完成", "void": "已作废"},
                    initial="draft",
                    transitions=[Transition("finish", "draft", "done", label_zh="完成"),
                                 Transition("void", "draft", "void", label_zh="作废",
                                            require_reason=True)])


class Body(Schema):
    date = fields.Date(load_default=None)
    count = fields.Integer(load_default=None, strict=True)
    ids = fields.List(fields.Integer(strict=True), load_default=None)
    flag = fields.Boolean(load_default=None)


class Session:
    class _NoAutoflush:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    no_autoflush = _NoAutoflush()


def test_from_machine_one_action_per_transition_with_its_label() -> None:
    done = []
    acts = Actions.from_machine(FLOW, lambda s, obj, name, body: done.append(name) or name,
                                schema=Body)
    assert [a.name for a in acts] == ["finish", "void"]
    assert acts.get("void").label == "作废" and acts.get("void").require_reason
    obj = {"state": "draft"}
    action, value = acts.perform(Session(), obj, "finish", {})
    assert (action.name, value, done) == ("finish", "finish", ["finish"])


def test_guard_refuses_with_403_and_runs_nothing() -> None:
    ran = []
    acts = Actions(Action("go", "执行", run=lambda s, o, b: ran.append(1)),
                   guard=lambda s, o: "只有本单位可以执行")
    with pytest.raises(ForbiddenError) as info:
        acts.perform(Session(), object(), "go", {})
    assert info.value.messages == "只有本单位可以执行" and ran == []
    assert not acts.may_run(Session(), object(), acts.get("go"))


def test_unknown_name_is_the_machines_error_or_404() -> None:
    acts = Actions.from_machine(FLOW, lambda *a: None)
    with pytest.raises(TransitionError) as info:
        acts.perform(Session(), {"state": "draft"}, "explode", {})
    assert info.value.code == "unknown_transition"
    with pytest.raises(NotFoundError):
        Actions(Action("go", "执行", run=lambda *a: None)).perform(Session(), object(), "x", {})


def test_state_without_the_transition_hides_it_guard_refusal_is_shown() -> None:
    assert machine_refusal(FLOW, None, {"state": "done"}, "finish") is False
    assert machine_refusal(FLOW, None, {"state": "draft"}, "finish") is None


def test_page_form_is_loaded_as_the_api_body() -> None:
    acts = Actions(Action("go", "执行", run=lambda *a: None, schema=Body))
    form = MultiDict([("date", "2025-03-03"), ("count", "7"), ("ids", "1"), ("ids", "2"),
                      ("ids", ""), ("flag", "y")])
    data = acts.load_form(acts.get("go"), form)
    assert data == {"date": "2025-03-03", "count": 7, "ids": [1, 2], "flag": True}
    assert acts.load_form(acts.get("go"), MultiDict())["flag"] is False


def test_from_machine_guard_per_transition_extra_actions_and_left_out_names() -> None:
    asked = []

    def who(session, obj, name):
        asked.append(name)
        return "只有经办人可以作废" if name == "void" else None

    extra = Action("note", "备注", run=lambda *a: "noted")
    acts = Actions.from_machine(FLOW, lambda *a: None, only=("void",), action_guard=who, extra=(extra,))
    assert [a.name for a in acts] == ["void", "note"]
    with pytest.raises(ForbiddenError):
        acts.perform(Session(), {"state": "draft"}, "void", {})
    assert asked == ["void"] and acts.perform(Session(), {"state": "draft"}, "note", {})[1] == "noted"
    # a transition of the machine the set leaves out is unknown here, as an undeclared one
    with pytest.raises(TransitionError) as info:
        acts.perform(Session(), {"state": "draft"}, "finish", {})
    assert (info.value.status, info.value.code) == (422, "unknown_transition")


def test_a_checkbox_the_form_does_not_draw_keeps_its_default() -> None:
    acts = Actions(Action("go", "执行", run=lambda *a: None, schema=Body, inputs=("count",)))
    assert acts.load_form(acts.get("go"), MultiDict([("count", "3")])) == {"count": 3}


def test_own_endpoint_beside_the_shared_one_and_commit_on() -> None:
    from flask import Flask

    from core.api.actions import install_api_actions, run_api
    from core.errors import ConflictError

    class Sess(Session):
        commits = 0

        def commit(self):
            self.commits += 1

    def fail(session, obj, body):
        obj["state"] = "failed"
        raise ConflictError({"status": ["没有有效报价"]})

    acts = Actions.from_machine(FLOW, lambda *a: None, extra=(
        Action("rate", "评价", run=lambda *a: None, permission="rate", api_path="/<int:pk>/rate"),
        Action("award", "成交", run=fail, api_path="/<int:pk>/award", commit_on=(ConflictError,))))

    class Api:
        record_actions = acts

    install_api_actions(Api)
    assert [u for u, _m in Api.transition._urls] == ["/<int:pk>/transition/<string:name>"]
    assert [u for u, _m in Api.rate._urls] == ["/<int:pk>/rate"]
    import yaml

    def params(endpoint):
        op = yaml.safe_load(endpoint.__doc__.split("---", 1)[1])["post"]
        return {p["name"]: p["schema"].get("enum") for p in op["parameters"]}

    assert params(Api.transition) == {"pk": None, "name": ["finish", "void"]}
    assert params(Api.rate) == {"pk": None}

    obj = {"state": "draft"}
    view = type("V", (), {"_base_filters": None, "_erp_pk": staticmethod(lambda pk: pk)})()
    view.datamodel = type("D", (), {"session": Sess(), "get": staticmethod(lambda pk, f: obj)})()
    with Flask(__name__).test_request_context(json={}):
        with pytest.raises(TransitionError):  # the shared endpoint offers only the transitions
            run_api(view, acts, 1, "rate", ["finish", "void"])
        with pytest.raises(ConflictError):
            run_api(view, acts, 1, "award", ["award"])
    assert obj["state"] == "failed" and view.datamodel.session.commits == 1


def test_api_only_raw_actions_and_a_caller_check_on_a_set_without_an_api_path() -> None:
    """A set without an API path puts only the actions with their own path on the API;
    ``api_raw`` hands ``run`` the JSON object as sent, without the schema and the guards;
    ``page=False`` keeps an action off the page; ``caller_check`` refuses before the body."""
    from flask import Flask

    from core.api.actions import install_api_actions, run_api

    class Sess(Session):
        commits = 0

        def commit(self):
            self.commits += 1

    seen = []
    checks = []
    refuse = lambda s, o: "只有本单位可以执行"  # noqa: E731
    acts = Actions(
        Action("approve", "批准", run=lambda *a: None, schema=Body, guard=refuse),
        Action("decision", "作出决定", run=lambda s, o, b: seen.append(b), schema=Body,
               guard=refuse, api_path="/<int:pk>/decision", api_raw=True, page=False),
        api_path=None, caller_check=lambda: checks.append(1))

    class Api:
        record_actions = acts

    install_api_actions(Api)
    assert [u for u, _m in Api.decision._urls] == ["/<int:pk>/decision"]
    assert not hasattr(Api, "approve") and not hasattr(Api, "transition")
    assert [o.name for o in acts.options(Session(), object(), lambda perm: True)] == []
    obj = {"state": "draft"}
    view = type("V", (), {"_base_filters": None, "_erp_pk": staticmethod(lambda pk: pk),
                          "response": staticmethod(lambda status, **kw: (status, kw))})()
    view.datamodel = type("D", (), {"session": Sess(), "get": staticmethod(lambda pk, f: obj)})()
    body = {"decision": "approve", "count": "not a number"}
    with Flask(__name__).test_request_context(json=body):
        assert run_api(view, acts, 1, "decision", ["decision"]) == (200, {"result": {"id": None}})
    assert seen == [body] and checks == [1] and view.datamodel.session.commits == 1

    def no_caller():
        raise ForbiddenError("只有单位用户可以执行")

    acts.caller_check = no_caller
    with Flask(__name__).test_request_context(data="{bad", content_type="application/json"):
        with pytest.raises(ForbiddenError):  # refused before the body is read
            run_api(view, acts, 1, "decision", ["decision"])
    assert len(seen) == 1


def test_api_only_action_has_no_button_and_a_path_variable_may_name_the_action() -> None:
    from core.actions import name_variable
    from core.api.actions import install_api_actions

    acts = Actions(Action("go", "执行", run=lambda *a: "go"),
                   Action("legacy", "旧接口", run=lambda *a: "legacy", page=False,
                          api_path="/<int:pk>/legacy"),
                   api_path="/match/<int:pk>/<string:decision>", api_method="decide")
    opts = acts.options(Session(), {}, lambda perm: True)
    assert [o.name for o in opts] == ["go"], "an API-only action is not drawn on the page"

    class Api:
        record_actions = acts

    install_api_actions(Api)
    assert [u for u, _m in Api.decide._urls] == ["/match/<int:pk>/<string:decision>"]
    assert [u for u, _m in Api.legacy._urls] == ["/<int:pk>/legacy"]
    op = yaml.safe_load(Api.decide.__doc__.split("---", 1)[1])["post"]
    assert {p["name"]: p["schema"].get("enum") for p in op["parameters"]} == {
        "pk": None, "decision": ["go"]}
    assert name_variable("/<int:pk>/transition/<string:name>") == "name"
    assert name_variable("/<any(draw,close):name>/<int:pk>") is None


def test_record_of_a_model_outside_a_model_api_or_page() -> None:
    from sqlalchemy import Column, Integer
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class Thing(Base):
        __tablename__ = "thing_for_actions_test"
        id = Column(Integer, primary_key=True)

    got = []

    class Sess:
        def get(self, model, pk):
            got.append((model, pk))
            return pk

    acts = Actions(Action("go", "执行", run=lambda *a: None), model=Thing)
    assert acts.record(Sess(), "7") == 7
    for bad in ("x", -1, 2**31, 10**20, None):
        assert acts.record(Sess(), bad) is None, bad
    assert got == [(Thing, 7)], "an id that cannot be one is not looked up"
    with pytest.raises(TypeError):
        Actions(Action("go", "执行", run=lambda *a: None)).record(Sess(), 1)


# -- on a running app ------------------------------------------------------------------------------
def test_openapi_is_generated_from_the_declaration(pb) -> None:  # noqa: F811
    spec = pb.call("GET", "_openapi").json
    op = spec["paths"]["/api/v1/pb_project/{pk}/transition/{name}"]["post"]
    names = next(p for p in op["parameters"] if p["name"] == "name")["schema"]["enum"]
    assert {"publish", "open_bidding", "award", "terminate"} <= set(names)
    assert set(op["responses"]) >= {"200", "403", "404", "409", "422"}
    body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.rsplit("/", 1)[1] in spec["components"]["schemas"]
    # one endpoint per named action, each with its own body schema
    refund = spec["paths"]["/api/v1/dl_deposit/{pk}/refund"]["post"]
    ref = refund["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    props = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"date", "amount", "bank_reference", "payee_account", "note"} <= set(props)


def test_buttons_only_for_users_who_may_run_them(pb) -> None:  # noqa: F811
    p = pb.project("AC-BTN-1")
    admin = web(pb).get(f"/projectview/show/{p}").get_data(as_text=True)
    # no package yet: "publish" says why, without a button that would be refused
    assert "项目至少需要一个采购包才能发布" in admin
    assert 'data-action="publish"' in admin and "erp-action-unavailable" in admin
    assert not re.search(r'<form[^>]*data-action="publish"', admin)
    pb.package(p)
    admin = web(pb).get(f"/projectview/show/{p}").get_data(as_text=True)
    assert re.search(r'<form[^>]*data-action="publish"', admin)
    # the auditor reads the project but may not move it: no action at all
    auditor = web(pb, "auditor").get(f"/projectview/show/{p}").get_data(as_text=True)
    assert "AC-BTN-1" in auditor and "data-action=" not in auditor
    # the page's action goes through the same declaration (error mapped, nothing written)
    client = web(pb, "auditor")
    res = client.post(f"/projectview/transition/{p}/publish", data={})
    assert res.status_code in (302, 400, 403)
    assert pb.call("GET", f"pb_project/{p}").json["result"]["status"] == "draft"


# -- idempotency keys ------------------------------------------------------------------------------
def test_openapi_of_an_idempotent_action_documents_the_header_and_400() -> None:
    acts = Actions(Action("go", "执行", run=lambda *a: None),
                   Action("free", "执行", run=lambda *a: None, idempotent=False),
                   api_path="/<int:pk>/{name}", idempotent=True)

    def operation(name: str) -> dict:
        text = _openapi(acts, [name], None, "go", f"/<int:pk>/{name}")
        return yaml.safe_load(text.split("---\n", 1)[1])["post"]

    op = operation("go")
    header = next(p for p in op["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    assert "400" in op["responses"] and "Idempotency-Key" in op["description"]
    assert all(p["in"] != "header" for p in operation("free")["parameters"])


REFUND = {"date": "2025-03-25", "bank_reference": "OUT-1"}


@pytest.fixture
def keyed_refund(dl, monkeypatch):  # noqa: F811
    """The deposit ledger's refund, made idempotent for the test (checked per request)."""
    from addons.deposit_ledger.actions import DEPOSIT_ACTIONS

    monkeypatch.setattr(DEPOSIT_ACTIONS.get("refund"), "idempotent", True)
    return dl


def _refunds(w, pk: int) -> list[str]:
    ents = w.call("GET", f"dl_deposit/{pk}/entries", "agency", expect=200).json["result"]
    return [e["kind"] for e in ents]


def test_idempotent_action_needs_a_key_replays_and_refuses_reuse(keyed_refund) -> None:
    w = keyed_refund
    pk = w.deposit().json["id"]
    url = f"/api/v1/dl_deposit/{pk}/refund"
    res = w.client.post(url, json=REFUND, headers=w.h("agency"))
    assert res.status_code == 400 and res.json["code"] == "idempotency_key_required"
    assert "Idempotency-Key" in str(res.json["message"])
    assert _refunds(w, pk) == ["receipt"]
    headers = {**w.h("agency"), "Idempotency-Key": "refund-0001"}
    first = w.client.post(url, json=REFUND, headers=headers)
    assert first.status_code == 200 and first.json["result"]
    assert "Idempotent-Replayed" not in first.headers
    again = w.client.post(url, json=REFUND, headers=headers)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_data() == first.get_data()
    assert _refunds(w, pk) == ["receipt", "refund"]
    # the same key for another body: 422, nothing written
    res = w.client.post(url, json={**REFUND, "bank_reference": "OUT-2"}, headers=headers)
    assert res.status_code == 422 and res.json["code"] == "idempotency_key_reused"
    assert _refunds(w, pk) == ["receipt", "refund"]
    # an error is not stored: a retry with its key runs again (and is refused again)
    other = {**w.h("agency"), "Idempotency-Key": "refund-0002"}
    for _ in range(2):
        res = w.client.post(url, json={**REFUND, "bank_reference": "OUT-3"}, headers=other)
        assert res.status_code == 409 and "Idempotent-Replayed" not in res.headers
    # the page is unaffected (its forms have a CSRF token, no key)
    from addons.deposit_ledger.actions import DEPOSIT_ACTIONS

    assert DEPOSIT_ACTIONS.is_idempotent(DEPOSIT_ACTIONS.get("refund"))
    assert not DEPOSIT_ACTIONS.is_idempotent(DEPOSIT_ACTIONS.get("forfeit"))


def test_two_same_key_requests_at_the_same_moment_write_once(keyed_refund, pg_url) -> None:
    from sqlalchemy import create_engine, text

    w = keyed_refund
    pk = w.deposit().json["id"]
    headers = {**w.h("agency"), "Idempotency-Key": "same-moment-1"}
    app = w.app
    results: list[tuple[int, str | None, bytes]] = []

    def refund() -> None:
        client = app.test_client()  # its own request, session and connection
        res = client.post(f"/api/v1/dl_deposit/{pk}/refund", headers=headers, json=REFUND)
        results.append((res.status_code, res.headers.get("Idempotent-Replayed"), res.get_data()))

    engine = create_engine(pg_url)
    monitor = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as blocker:
        tx = blocker.begin()
        blocker.execute(text("SELECT id FROM dl_deposit WHERE id = :id FOR UPDATE"), {"id": pk})
        threads = [threading.Thread(target=refund) for _ in (1, 2)]
        for t in threads:
            t.start()
        # one request holds the key and waits for the deposit's row lock; its twin waits
        # for the key
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = monitor.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar()
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2, "one request should wait on the deposit, the other on the key"
        tx.commit()
    for t in threads:
        t.join(60)
    monitor.close()
    engine.dispose()
    assert sorted((s, r or "") for s, r, _ in results) == [(200, ""), (200, "true")], results
    assert results[0][2] == results[1][2]
    assert _refunds(w, pk) == ["receipt", "refund"]


# -- actions on records listed by a page that is not a model page (ErpListActions) ---------------------
def _proposed_match(w) -> tuple[int, str]:
    import io

    w.deposit("BZJ-LA1")
    data = "日期,金额,对方户名,流水号,收支方向\n2025-03-20,10000.00,x,IN-BZJ-LA1,收入\n".encode()
    res = w.client.post("/api/v1/dl_reconcile/import", headers=w.h("agency"),
                        data={"file": (io.BytesIO(data), "s.csv")},
                        content_type="multipart/form-data")
    assert res.status_code == 200, res.json
    batch = res.json["batch"]
    st = w.call("GET", f"dl_reconcile/?batch={batch}", "agency", expect=200).json
    return st["matches"][0]["id"], batch


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def test_list_page_rows_have_the_buttons_the_user_may_use(dl) -> None:  # noqa: F811
    from tests.addons.deposit_ledger.test_dl_pages import web as dl_web

    m, batch = _proposed_match(dl)
    agency = dl_web(dl, "agency")
    html = agency.get(f"/deposit/reconcile/?batch={batch}").get_data(as_text=True)
    for name in ("confirm", "reject"):
        assert f'action="/deposit/reconcile/decide/{m}/{name}"' in html
    # the auditor reads the page but may not decide: no button
    auditor = dl_web(dl, "auditor").get(f"/deposit/reconcile/?batch={batch}").get_data(as_text=True)
    assert "IN-BZJ-LA1" in auditor and "data-action=" not in auditor
    # an unknown decision is not an endpoint of the declaration
    token = _csrf(html)
    assert agency.post(f"/deposit/reconcile/decide/{m}/burn",
                       data={"csrf_token": token}).status_code == 404
    assert agency.post("/deposit/reconcile/decide/99999999999/confirm",
                       data={"csrf_token": token}).status_code == 404
    # the page's button runs the declared action and returns to the list (its batch kept)
    res = agency.post(f"/deposit/reconcile/decide/{m}/confirm",
                      data={"csrf_token": token, "batch": batch})
    assert res.status_code == 302 and f"batch={batch}" in res.headers["Location"]
    html = agency.get(res.headers["Location"]).get_data(as_text=True)
    assert "已确认匹配" in html and f"/decide/{m}/" not in html, "a decided match has no button"
    # the API of the same declaration: decided already (409), same answer shape
    res = dl.client.post(f"/api/v1/dl_reconcile/match/{m}/reject", headers=dl.h("agency"))
    assert res.status_code == 409 and res.json["code"] == "invalid_state"
    spec = dl.call("GET", "_openapi", "admin").json
    op = spec["paths"]["/api/v1/dl_reconcile/match/{pk}/{decision}"]["post"]
    assert next(p for p in op["parameters"] if p["name"] == "decision")["schema"]["enum"] == [
        "confirm", "reject"]
