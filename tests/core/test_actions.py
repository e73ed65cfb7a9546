"""core.actions: an action declared once gives the API endpoint (with generated OpenAPI), the
page button and form (only for users whose permission and guard allow it), the error
mapping and the commit. Exercised on procurement_base's project transitions and the
deposit ledger's named actions; the unit part needs no app."""

from __future__ import annotations

import re

import pytest
from marshmallow import Schema, fields
from werkzeug.datastructures import MultiDict

from core.actions import Action, Actions, machine_refusal
from core.errors import ForbiddenError, NotFoundError
from core.services.statemachine import StateMachine, Transition, TransitionError
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
