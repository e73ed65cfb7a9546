"""core.errors: one set of errors with status and code, mapped centrally by the API envelope
and by the page layer."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from core.errors import (
    ConflictError,
    DuplicateError,
    ErpError,
    ForbiddenError,
    NotFoundError,
    RuleError,
    as_field_messages,
    message_text,
)
from core.services.statemachine import StateMachine, Transition, TransitionError


@pytest.mark.parametrize(("cls", "status", "code"), [
    (RuleError, 422, "validation_error"),
    (ConflictError, 409, "conflict"),
    (DuplicateError, 409, "duplicate"),
    (NotFoundError, 404, "not_found"),
    (ForbiddenError, 403, "forbidden"),
])
def test_status_and_code(cls, status, code) -> None:
    exc = cls()
    assert isinstance(exc, ErpError)
    assert (exc.status, exc.code) == (status, code)
    assert isinstance(exc.messages, str) and exc.messages  # a Chinese default sentence
    assert str(exc) == exc.messages


def test_field_messages_and_text() -> None:
    exc = RuleError({"price": "价格必须大于 0", "name": ["必填", "过长"]})
    assert exc.messages == {"price": ["价格必须大于 0"], "name": ["必填", "过长"]}
    assert exc.text == "价格必须大于 0；必填；过长"
    assert RuleError("整单被拒").field_messages == {"_schema": ["整单被拒"]}
    assert message_text(None) == ""
    assert as_field_messages(["a", "b"]) == {"_schema": ["a", "b"]}


def test_rule_error_is_a_marshmallow_validation_error_keeping_its_messages() -> None:
    with pytest.raises(ValidationError) as info:
        raise RuleError({"amount": ["金额不能为负"]})
    assert info.value.messages == {"amount": ["金额不能为负"]}


def test_duplicate_is_a_conflict_and_code_and_status_can_be_given() -> None:
    assert issubclass(DuplicateError, ConflictError)
    exc = ConflictError("已被他人修改", code="stale", extra_key=1)
    assert exc.code == "stale" and exc.extra == {"extra_key": 1}
    assert ErpError("x", status=418).status == 418


def test_transition_error_is_an_erp_error() -> None:
    flow = StateMachine(field="state", states={"a": "甲", "b": "乙"}, initial="a",
                        transitions=[Transition("go", "b", "a", label_zh="回去")])
    obj = {"state": "a"}
    with pytest.raises(ErpError) as info:
        flow.trigger(obj, "go")
    exc = info.value
    assert isinstance(exc, TransitionError)
    assert (exc.status, exc.code) == (409, "invalid_state")
    assert exc.extra == {"transition": "go", "state": "a"}


def test_procurement_base_errors_are_the_core_ones() -> None:
    from addons.procurement_base import services

    assert issubclass(services.RuleError, RuleError)
    assert issubclass(services.DuplicateError, DuplicateError)
    exc = services.DuplicateError({"code": ["该编码已存在"]})
    assert (exc.status, exc.code) == (409, "duplicate")
    assert isinstance(exc, ValidationError)


# -- mapped centrally: API envelope and pages ------------------------------------------------
ROUTES = {
    "rule": RuleError({"name": ["名称不能为空"]}),
    "conflict": ConflictError("状态已变化"),
    "duplicate": DuplicateError({"code": ["该值已存在"]}),
    "missing": NotFoundError(),
    "forbidden": ForbiddenError("只有采购人可以执行"),
    "transition": TransitionError("单据状态为“乙”，不能执行“回去”", status=409,
                                  code="invalid_state", transition="go", state="b"),
}


@pytest.fixture
def erp_app(app):
    from flask import Blueprint

    bp = Blueprint("errtest", __name__)

    @bp.route("/api/v1/errtest/<name>", methods=["GET", "POST"])
    def api_raise(name):
        raise ROUTES[name]

    @bp.route("/errtest/<name>", methods=["GET", "POST"])
    def page_raise(name):
        raise ROUTES[name]

    app.extensions["csrf"].exempt(bp)  # a test route, not a form
    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_api_envelope_maps_every_error(erp_app, name) -> None:
    exc = ROUTES[name]
    res = erp_app.test_client().get(f"/api/v1/errtest/{name}")
    assert res.status_code == exc.status
    body = res.json
    assert body["status"] == exc.status and body["code"] == exc.code
    assert body["message"] == exc.messages
    if name == "transition":
        assert body["transition"] == "go" and body["state"] == "b"


def test_pages_flash_the_message_and_go_back(erp_app) -> None:
    client = erp_app.test_client()
    res = client.post("/errtest/rule", headers={"Referer": "http://localhost/somewhere/"})
    assert res.status_code == 302 and res.headers["Location"].endswith("/somewhere/")
    with client.session_transaction() as sess:
        flashes = sess.get("_flashes", [])
    assert ("danger", "名称不能为空") in flashes
    assert client.get("/errtest/missing").status_code == 404
    assert client.get("/errtest/forbidden").status_code == 403
    res = client.get("/errtest/conflict")
    assert res.status_code == 409
    assert "操作冲突" in res.get_data(as_text=True)
