"""Tests for core.services.statemachine (document state machines)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.services.statemachine import (
    ANY_STATE,
    BoundStateMachine,
    StateMachine,
    Transition,
    TransitionError,
    TransitionEvent,
)

STATES = {
    "draft": "草稿",
    "paid": "已缴纳",
    "refunding": "退还中",
    "refunded": "已退还",
    "cancelled": "已作废",
}


@dataclass
class Deposit:
    state: str | None = "draft"
    disputed: bool = False
    amount: int = 100
    log: list[str] = field(default_factory=list)


def no_dispute(dep: Deposit) -> str | None:
    return "存在未处理的质疑投诉，不能退还保证金" if dep.disputed else None


def only_finance(dep: Deposit, event: TransitionEvent) -> bool | str:
    if event.actor == "finance":
        return True
    return "只有财务人员可以确认退还"


def make_machine(**kwargs: Any) -> StateMachine:
    return StateMachine(
        field="state",
        states=STATES,
        initial="draft",
        transitions=[
            Transition("pay", "draft", "paid", label_zh="缴纳"),
            Transition("refund", "paid", "refunding", guard=no_dispute, label_zh="退还"),
            Transition("confirm", "refunding", "refunded", guard=only_finance, label_zh="确认退还"),
            Transition("reject", "refunding", "paid", label_zh="驳回", require_reason=True),
            Transition("cancel", ["draft", "paid"], "cancelled", label_zh="作废"),
            Transition("touch", "draft", "draft", label_zh="修改"),  # self-transition
        ],
        **kwargs,
    )


@pytest.fixture
def machine() -> StateMachine:
    return make_machine()


# --------------------------------------------------------------------------- trigger


def test_legal_path(machine: StateMachine) -> None:
    dep = Deposit()
    event = machine.trigger(dep, "pay", actor="alice")
    assert dep.state == "paid"
    assert event == TransitionEvent(
        obj=dep, name="pay", label_zh="缴纳", source="draft", target="paid", actor="alice"
    )
    machine.trigger(dep, "refund")
    machine.trigger(dep, "confirm", actor="finance")
    assert dep.state == "refunded"
    assert machine.state_label(dep) == "已退还"


def test_illegal_transition_is_409_with_chinese_message(machine: StateMachine) -> None:
    dep = Deposit(state="refunded")
    with pytest.raises(TransitionError) as info:
        machine.trigger(dep, "refund")
    err = info.value
    assert str(err) == "单据状态为“已退还”，不能执行“退还”"
    assert err.status == 409
    assert err.code == "invalid_state"
    assert err.transition == "refund"
    assert err.state == "refunded"
    assert dep.state == "refunded", "state untouched"
    assert err.to_dict() == {
        "message": "单据状态为“已退还”，不能执行“退还”",
        "code": "invalid_state",
        "transition": "refund",
        "state": "refunded",
    }


def test_subject_name_in_message() -> None:
    m = make_machine(subject_zh="保证金")
    with pytest.raises(TransitionError, match="^保证金状态为“草稿”，不能执行“确认退还”$"):
        m.trigger(Deposit(), "confirm")


def test_unknown_transition_is_422(machine: StateMachine) -> None:
    dep = Deposit()
    with pytest.raises(TransitionError) as info:
        machine.trigger(dep, "explode")
    assert info.value.status == 422
    assert info.value.code == "unknown_transition"
    assert str(info.value) == "未知的操作“explode”"
    with pytest.raises(TransitionError) as info:
        machine.can(dep, "explode")
    assert info.value.status == 422


def test_guard_string_refusal_is_422_with_reason(machine: StateMachine) -> None:
    dep = Deposit(state="paid", disputed=True)
    with pytest.raises(TransitionError) as info:
        machine.trigger(dep, "refund")
    assert info.value.status == 422
    assert info.value.code == "guard_refused"
    assert str(info.value) == "存在未处理的质疑投诉，不能退还保证金"
    assert dep.state == "paid"


def test_guard_receives_event_with_actor_reason_and_ctx() -> None:
    seen: list[TransitionEvent] = []

    def guard(obj: Deposit, event: TransitionEvent) -> None:
        seen.append(event)

    m = StateMachine(states=STATES, transitions=[Transition("pay", "draft", "paid", guard=guard)])
    dep = Deposit()
    m.trigger(dep, "pay", actor="bob", reason="到账", bank="中国银行")
    (event,) = seen
    assert event.obj is dep
    assert (event.name, event.source, event.target) == ("pay", "draft", "paid")
    assert (event.actor, event.reason) == ("bob", "到账")
    assert dict(event.ctx) == {"bank": "中国银行"}
    assert event.label_zh == "pay", "label defaults to the name"


def test_guard_false_uses_generic_message() -> None:
    m = StateMachine(
        states=STATES,
        transitions=[
            Transition("pay", "draft", "paid", guard=lambda d: d.amount > 0, label_zh="缴纳")
        ],
    )
    with pytest.raises(TransitionError, match="^不满足执行“缴纳”的条件$") as info:
        m.trigger(Deposit(amount=0), "pay")
    assert info.value.status == 422
    m.trigger(dep := Deposit(amount=1), "pay")
    assert dep.state == "paid"


def test_several_guards_first_refusal_wins() -> None:
    calls: list[str] = []

    def g1(d: Deposit) -> str:
        calls.append("g1")
        return "第一个条件不满足"

    def g2(d: Deposit) -> None:
        calls.append("g2")

    m = StateMachine(
        states=STATES, transitions=[Transition("pay", "draft", "paid", guard=[g2, g1, g2])]
    )
    with pytest.raises(TransitionError, match="第一个条件不满足"):
        m.trigger(Deposit(), "pay")
    assert calls == ["g2", "g1"]


def test_guard_with_bad_return_type_is_a_bug() -> None:
    m = StateMachine(
        states=STATES, transitions=[Transition("pay", "draft", "paid", guard=lambda d: 1)]
    )
    with pytest.raises(TypeError, match="expected None, True, False or a reason string"):
        m.trigger(Deposit(), "pay")


def test_guard_with_actor(machine: StateMachine) -> None:
    dep = Deposit(state="refunding")
    with pytest.raises(TransitionError, match="只有财务人员可以确认退还"):
        machine.trigger(dep, "confirm", actor="clerk")
    machine.trigger(dep, "confirm", actor="finance")
    assert dep.state == "refunded"


def test_require_reason(machine: StateMachine) -> None:
    dep = Deposit(state="refunding")
    for reason in (None, "", "   "):
        with pytest.raises(TransitionError) as info:
            machine.trigger(dep, "reject", reason=reason)
        assert info.value.status == 422
        assert info.value.code == "reason_required"
        assert str(info.value) == "执行“驳回”必须填写原因"
    machine.trigger(dep, "reject", reason="退还账户信息有误")
    assert dep.state == "paid"


def test_multiple_sources_and_self_transition(machine: StateMachine) -> None:
    for start in ("draft", "paid"):
        dep = Deposit(state=start)
        machine.trigger(dep, "cancel")
        assert dep.state == "cancelled"
    with pytest.raises(TransitionError, match="单据状态为“已作废”，不能执行“作废”"):
        machine.trigger(Deposit(state="cancelled"), "cancel")
    dep = Deposit()
    assert machine.trigger(dep, "touch").source == "draft"
    assert dep.state == "draft"


def test_any_state_source() -> None:
    m = StateMachine(
        states=STATES,
        transitions=[
            Transition("pay", "draft", "paid"),
            Transition("void", ANY_STATE, "cancelled", label_zh="强制作废"),
        ],
    )
    for s in STATES:
        dep = Deposit(state=s)
        m.trigger(dep, "void")
        assert dep.state == "cancelled"


def test_same_name_with_disjoint_sources() -> None:
    m = StateMachine(
        states={"draft": "草稿", "review1": "初审", "review2": "复审"},
        transitions=[
            Transition("submit", "draft", "review1", label_zh="提交"),
            Transition("approve", "review1", "review2", label_zh="通过"),
            Transition("reject", "review1", "draft", label_zh="驳回"),
            Transition("reject", "review2", "review1", label_zh="驳回"),
        ],
    )
    doc = {"state": "review2"}  # plain dicts work too
    m.trigger(doc, "reject")
    assert doc["state"] == "review1"
    m.trigger(doc, "reject")
    assert doc["state"] == "draft"
    with pytest.raises(TransitionError, match="单据状态为“草稿”，不能执行“驳回”"):
        m.trigger(doc, "reject")


# --------------------------------------------------------------------------- audit hook


def test_audit_hook_from_constructor() -> None:
    calls: list[tuple[Any, ...]] = []
    m = make_machine(on_transition=lambda *args: calls.append(args))
    dep = Deposit()
    m.trigger(dep, "pay", actor="alice", reason="首笔", voucher="PZ-001")
    assert calls == [(dep, "pay", "draft", "paid", "alice", "首笔", {"voucher": "PZ-001"})]


def test_set_audit_hook_later_and_remove(machine: StateMachine) -> None:
    calls: list[tuple[Any, ...]] = []

    def hook(
        obj: Any,
        name: str,
        source: Any,
        target: str,
        actor: Any,
        reason: str | None,
        ctx: dict[str, Any],
    ) -> None:
        assert obj.state == target, "hook runs after the state is set"
        calls.append((name, source, target, actor, reason, ctx))

    assert machine.audit_hook is None
    machine.set_audit_hook(hook)
    dep = Deposit()
    machine.trigger(dep, "pay")
    machine.trigger(dep, "refund", actor="u1")
    assert calls == [
        ("pay", "draft", "paid", None, None, {}),
        ("refund", "paid", "refunding", "u1", None, {}),
    ]
    machine.set_audit_hook(None)
    machine.trigger(dep, "confirm", actor="finance")
    assert len(calls) == 2


def test_audit_hook_not_called_on_refusal(machine: StateMachine) -> None:
    calls: list[Any] = []
    machine.set_audit_hook(lambda *a: calls.append(a))
    with pytest.raises(TransitionError):
        machine.trigger(Deposit(state="paid", disputed=True), "refund")
    with pytest.raises(TransitionError):
        machine.trigger(Deposit(state="refunded"), "refund")
    assert calls == []


def test_failing_audit_hook_restores_state(machine: StateMachine) -> None:
    def hook(*args: Any) -> None:
        raise RuntimeError("audit log unavailable")

    machine.set_audit_hook(hook)
    dep = Deposit()
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        machine.trigger(dep, "pay")
    assert dep.state == "draft"


# --------------------------------------------------------------------------- queries


def names(ts: list[Transition]) -> list[str]:
    return [t.name for t in ts]


def test_available_evaluates_guards(machine: StateMachine) -> None:
    assert names(machine.available(Deposit())) == ["pay", "cancel", "touch"]
    assert names(machine.available(Deposit(state="paid"))) == ["refund", "cancel"]
    assert names(machine.available(Deposit(state="paid", disputed=True))) == ["cancel"]
    refunding = Deposit(state="refunding")
    # reject needs a reason, but that is asked for when triggering: still offered.
    assert names(machine.available(refunding)) == ["reject"]
    assert names(machine.available(refunding, actor="finance")) == ["confirm", "reject"]
    assert machine.available(Deposit(state="refunded")) == []
    assert [t.label for t in machine.available(Deposit())] == ["缴纳", "作废", "修改"]


def test_can(machine: StateMachine) -> None:
    assert machine.can(Deposit(), "pay")
    assert not machine.can(Deposit(), "refund")
    assert not machine.can(Deposit(state="paid", disputed=True), "refund")
    assert machine.can(Deposit(state="refunding"), "confirm", actor="finance")
    assert not machine.can(Deposit(state="refunding"), "confirm", actor="clerk")
    assert machine.can(Deposit(state="refunding"), "reject")


def test_check_does_not_change_state(machine: StateMachine) -> None:
    dep = Deposit()
    event = machine.check(dep, "pay")
    assert event.target == "paid"
    assert dep.state == "draft"
    with pytest.raises(TransitionError):
        machine.check(Deposit(state="refunding"), "reject")


def test_labels_and_initialize(machine: StateMachine) -> None:
    assert machine.label("paid") == "已缴纳"
    assert machine.label("weird") == "weird"
    assert machine.label(None) == "未设置"
    assert machine.transition_label("confirm") == "确认退还"
    assert machine.names == ["pay", "refund", "confirm", "reject", "cancel", "touch"]
    dep = Deposit(state=None)
    with pytest.raises(TransitionError, match="单据状态为“未设置”，不能执行“缴纳”"):
        machine.trigger(dep, "pay")
    machine.initialize(dep)
    assert dep.state == "draft"
    machine.initialize(Deposit(state="paid"))  # leaves a set state alone


# --------------------------------------------------------------------------- declaration errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"states": {}, "transitions": []}, "at least one state"),
        ({"states": STATES, "transitions": [Transition("x", "draft", "nowhere")]}, "undeclared"),
        ({"states": STATES, "transitions": [Transition("x", "ghost", "paid")]}, "undeclared"),
        (
            {
                "states": STATES,
                "transitions": [
                    Transition("x", "draft", "paid"),
                    Transition("x", ["draft", "paid"], "refunded"),
                ],
            },
            "declared twice",
        ),
        (
            {
                "states": STATES,
                "transitions": [
                    Transition("x", "draft", "paid"),
                    Transition("x", ANY_STATE, "refunded"),
                ],
            },
            "declared twice",
        ),
        ({"states": STATES, "transitions": [], "initial": "ghost"}, "initial state"),
        ({"states": {"*": "任意"}, "transitions": []}, "reserved"),
    ],
)
def test_declaration_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StateMachine(**kwargs)


def test_transition_validation() -> None:
    with pytest.raises(ValueError, match="no source"):
        Transition("x", [], "paid")
    with pytest.raises(ValueError, match="cannot be combined"):
        Transition("x", ["*", "draft"], "paid")
    with pytest.raises(TypeError, match="not callable"):
        Transition("x", "draft", "paid", guard=["nope"])  # type: ignore[list-item]
    assert Transition("x", "draft", "paid").label == "x"
    t = Transition("x", ["draft", "paid"], "paid")
    assert t.sources == frozenset({"draft", "paid"})
    assert len({t, t}) == 1, "hashable even when declared with a list"


# --------------------------------------------------------------------------- attached to a model


class _Base(DeclarativeBase):
    pass


deposit_flow = make_machine()


class _DepositRow(_Base):
    __tablename__ = "test_sm_deposit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    disputed = False
    workflow = deposit_flow


def test_attached_to_sqlalchemy_model() -> None:
    assert _DepositRow.workflow is deposit_flow
    assert "workflow" not in _DepositRow.__table__.c
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        row = _DepositRow(id=1, state="draft")
        session.add(row)
        session.commit()
        bound = row.workflow
        assert isinstance(bound, BoundStateMachine)
        assert bound.state == "draft" and bound.state_label == "草稿"
        assert names(bound.available()) == ["pay", "cancel", "touch"]
        assert bound.can("pay") and not bound.can("refund")
        bound.check("pay")
        event = bound.trigger("pay", actor="alice")
        assert event.target == "paid"
        session.commit()
        session.expire_all()
        assert session.get(_DepositRow, 1).state == "paid"  # type: ignore[union-attr]
        with pytest.raises(TransitionError, match="单据状态为“已缴纳”，不能执行“缴纳”"):
            row.workflow.trigger("pay")
    engine.dispose()


def test_attached_plain_class_initialize() -> None:
    class Loan:
        workflow = make_machine()

        def __init__(self) -> None:
            self.state: str | None = None
            self.disputed = False

    loan = Loan()
    loan.workflow.initialize()
    assert loan.state == "draft"
