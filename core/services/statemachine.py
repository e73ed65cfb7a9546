"""Document state machines (单据状态机) for orders, deposits, loans, ...

Pure Python: no Flask, no database. A machine reads and writes one attribute
(``field``) of any object - an ORM instance, a plain object or a dict - and
reports every transition to an audit hook, which the core audit log plugs into.

::

    deposit_flow = StateMachine(
        field="state",
        states={"draft": "草稿", "paid": "已缴纳", "refunded": "已退还"},
        initial="draft",
        transitions=[
            Transition("pay", "draft", "paid", label_zh="缴纳"),
            Transition("refund", "paid", "refunded", label_zh="退还", guard=no_open_dispute),
        ],
    )
    deposit_flow.trigger(deposit, "refund", actor=user, reason="项目终止")

or attached to a model class as a descriptor, bound to each instance::

    class Deposit(Model):
        state = mapped_column(String(16), default="draft")
        workflow = deposit_flow

    deposit.workflow.trigger("refund", actor=user)
    Deposit.workflow is deposit_flow

Errors are :class:`TransitionError` with an HTTP ``status``:

* 422 ``unknown_transition`` - no transition of that name is declared;
* 409 ``invalid_state`` - declared, but not from the document's current state
  ("单据状态为“已退还”，不能执行“退还”"): typically a concurrent edit;
* 422 ``reason_required`` - the transition needs a reason and none was given;
* 422 ``guard_refused`` - a guard refused; the message is the guard's reason.

The machine does not lock anything: callers that change persistent documents
should load them ``SELECT ... FOR UPDATE`` (or use a version column) so two
requests cannot both pass the state check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Generic, TypeAlias, TypeVar, overload

from core.errors import ErpError

__all__ = [
    "ANY_STATE",
    "AuditHook",
    "BoundStateMachine",
    "Guard",
    "StateMachine",
    "Transition",
    "TransitionError",
    "TransitionEvent",
    "set_default_audit_hook",
]

ANY_STATE: Final = "*"
"""Use as a transition's ``source`` to allow it from every state."""


class TransitionError(ErpError):
    """A transition cannot be performed. ``str(error)`` is a Chinese message.

    A :class:`core.errors.ErpError`: API and pages map it centrally (the envelope carries
    ``transition`` and ``state`` beside status/message/code).

    Attributes:
        message: the message (also ``str(error)``).
        status: HTTP status for API handlers: 409 (wrong state) or 422.
        code: ``"unknown_transition"``, ``"invalid_state"``, ``"reason_required"``
            or ``"guard_refused"``.
        transition: the requested transition name.
        state: the document's state when the transition was requested.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        transition: str | None = None,
        state: Any = None,
    ) -> None:
        super().__init__(message, status=status, code=code, transition=transition, state=state)
        self.message = message
        self.transition = transition
        self.state = state

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready body for an API error response."""
        return {
            "message": self.message,
            "code": self.code,
            "transition": self.transition,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class TransitionEvent:
    """What is being (or was) done: passed to guards and returned by ``trigger``."""

    obj: Any
    name: str
    label_zh: str
    source: Any
    target: str
    actor: Any = None
    reason: str | None = None
    ctx: Mapping[str, Any] = field(default_factory=dict)


GuardResult: TypeAlias = bool | str | None
Guard: TypeAlias = Callable[[Any], GuardResult] | Callable[[Any, TransitionEvent], GuardResult]
"""``guard(obj)`` or ``guard(obj, event)``; returns ``None``/``True`` to allow,
a reason string (Chinese, shown to the user) or ``False`` to refuse."""
AuditHook: TypeAlias = Callable[[Any, str, Any, str, Any, str | None, dict[str, Any]], object]
"""``on_transition(obj, name, source, target, actor, reason, ctx)``."""

_default_audit_hook: AuditHook | None = None


def set_default_audit_hook(fn: AuditHook | None) -> None:
    """The hook of every machine without one of its own (``core.services.audit``
    installs the audit log's here, so transitions are audited by default)."""
    global _default_audit_hook
    _default_audit_hook = fn


def _guard_arity(guard: Callable[..., GuardResult]) -> int:
    """1 if ``guard`` takes only the object, else 2 (object and event)."""
    try:
        params = inspect.signature(guard).parameters.values()
    except (TypeError, ValueError):  # some builtins / C callables
        return 2
    positional = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return 1 if positional == 1 else 2


@dataclass(frozen=True, eq=False)  # identity semantics: hashable even with list sources
class Transition:
    """A named, labelled move from one or more source states to a target state.

    Args:
        name: identifier used in code and URLs (``"refund"``).
        source: a state, a collection of states, or :data:`ANY_STATE` (``"*"``).
        target: the new state (may equal a source: a self-transition).
        guard: ``None``, one guard or a sequence of guards, evaluated in order;
            the first refusal wins. See :data:`Guard`.
        label_zh: Chinese label used in messages and UIs (default: ``name``).
        require_reason: refuse (422) unless a non-blank ``reason`` is given.

    The same name may be declared several times with disjoint sources (e.g.
    "驳回" going back one step from each review stage).
    """

    name: str
    source: str | Collection[str]
    target: str
    guard: Guard | Sequence[Guard] | None = None
    label_zh: str | None = None
    require_reason: bool = False
    sources: frozenset[str] = field(init=False, repr=False)
    guards: tuple[tuple[Guard, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("transition name must not be empty")
        if isinstance(self.source, str):
            sources = frozenset({self.source})
        else:
            sources = frozenset(self.source)
        if not sources:
            raise ValueError(f"transition {self.name!r} has no source state")
        if ANY_STATE in sources and len(sources) > 1:
            raise ValueError(f"transition {self.name!r}: '*' cannot be combined with states")
        if self.guard is None:
            guard_list: list[Guard] = []
        elif callable(self.guard):
            guard_list = [self.guard]
        else:
            guard_list = list(self.guard)
        for g in guard_list:
            if not callable(g):
                raise TypeError(f"transition {self.name!r}: guard {g!r} is not callable")
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "guards", tuple((g, _guard_arity(g)) for g in guard_list))
        if self.label_zh is None:
            object.__setattr__(self, "label_zh", self.name)

    @property
    def label(self) -> str:
        """The Chinese label (``label_zh``, defaulting to the name)."""
        return self.label_zh or self.name

    @property
    def from_any(self) -> bool:
        return ANY_STATE in self.sources

    def allows_from(self, state: Any) -> bool:
        return self.from_any or state in self.sources


class StateMachine:
    """A declarative state machine over one attribute of a document.

    Args:
        field: attribute (or mapping key) holding the state.
        states: state value -> Chinese label, in display order.
        transitions: the allowed moves; validated against ``states``.
        initial: optional initial state (see :meth:`initialize`).
        on_transition: audit hook, see :data:`AuditHook` and :meth:`set_audit_hook`.
        subject_zh: the document's name in messages (default "单据", e.g. "订单").

    Used as a class attribute it is a descriptor: ``instance.attr`` is a
    :class:`BoundStateMachine`, ``Class.attr`` the machine itself.
    """

    def __init__(
        self,
        *,
        field: str = "state",
        states: Mapping[str, str],
        transitions: Iterable[Transition],
        initial: str | None = None,
        on_transition: AuditHook | None = None,
        subject_zh: str = "单据",
    ) -> None:
        if not states:
            raise ValueError("a state machine needs at least one state")
        if ANY_STATE in states:
            raise ValueError(f"{ANY_STATE!r} is reserved and cannot be a state")
        self.field = field
        self.states: Mapping[str, str] = MappingProxyType(dict(states))
        self.transitions: tuple[Transition, ...] = tuple(transitions)
        self.initial = initial
        self.subject_zh = subject_zh
        self._audit_hook: AuditHook | None = on_transition
        if initial is not None and initial not in self.states:
            raise ValueError(f"initial state {initial!r} is not a declared state")

        self._by_name: dict[str, list[Transition]] = {}
        for t in self.transitions:
            unknown = [s for s in (*t.sources - {ANY_STATE}, t.target) if s not in self.states]
            if unknown:
                raise ValueError(f"transition {t.name!r} refers to undeclared state(s) {unknown}")
            for other in self._by_name.get(t.name, ()):
                if t.from_any or other.from_any or t.sources & other.sources:
                    raise ValueError(
                        f"transition {t.name!r} is declared twice for the same source state"
                    )
            self._by_name.setdefault(t.name, []).append(t)

    # ------------------------------------------------------------------ descriptor

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> StateMachine: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> BoundStateMachine: ...
    def __get__(
        self, instance: object | None, owner: type | None = None
    ) -> StateMachine | BoundStateMachine:
        if instance is None:
            return self
        return BoundStateMachine(self, instance)

    # ------------------------------------------------------------------ hooks

    def set_audit_hook(self, fn: AuditHook | None) -> None:
        """Install (or with ``None`` remove) the audit hook, replacing any previous one."""
        self._audit_hook = fn

    @property
    def audit_hook(self) -> AuditHook | None:
        return self._audit_hook

    # ------------------------------------------------------------------ state access

    def get_state(self, obj: Any) -> Any:
        """The object's current state value."""
        if isinstance(obj, Mapping):
            return obj.get(self.field)
        return getattr(obj, self.field)

    def _set_state(self, obj: Any, value: Any) -> None:
        if isinstance(obj, MutableMapping):
            obj[self.field] = value
        else:
            setattr(obj, self.field, value)

    def label(self, state: Any) -> str:
        """The Chinese label of a state value (the value itself if undeclared)."""
        if state is None:
            return "未设置"
        return self.states.get(state, str(state))

    def state_label(self, obj: Any) -> str:
        """The Chinese label of the object's current state."""
        return self.label(self.get_state(obj))

    def initialize(self, obj: Any) -> None:
        """Set the state to ``initial`` if it is unset (``None``)."""
        if self.initial is None:
            raise ValueError("this state machine has no initial state")
        if self.get_state(obj) is None:
            self._set_state(obj, self.initial)

    # ------------------------------------------------------------------ queries

    @property
    def names(self) -> list[str]:
        """Declared transition names, in declaration order."""
        return list(self._by_name)

    def transition_label(self, name: str) -> str:
        """Chinese label of a transition name (its first declaration's label)."""
        declared = self._by_name.get(name)
        return declared[0].label if declared else name

    def _find(self, state: Any, name: str) -> Transition | None:
        for t in self._by_name.get(name, ()):
            if t.allows_from(state):
                return t
        return None

    def _event(
        self,
        obj: Any,
        t: Transition,
        state: Any,
        actor: Any,
        reason: str | None,
        ctx: Mapping[str, Any],
    ) -> TransitionEvent:
        return TransitionEvent(
            obj=obj,
            name=t.name,
            label_zh=t.label,
            source=state,
            target=t.target,
            actor=actor,
            reason=reason,
            ctx=MappingProxyType(dict(ctx)),
        )

    @staticmethod
    def _refusal(t: Transition, event: TransitionEvent) -> str | None:
        """The first guard's refusal message, or ``None`` if every guard allows."""
        for guard, arity in t.guards:
            result = guard(event.obj) if arity == 1 else guard(event.obj, event)  # type: ignore[call-arg]
            if result is None or result is True:
                continue
            if result is False:
                return f"不满足执行“{t.label}”的条件"
            if isinstance(result, str):
                return result or f"不满足执行“{t.label}”的条件"
            raise TypeError(
                f"guard {guard!r} of transition {t.name!r} returned {result!r}; "
                "expected None, True, False or a reason string"
            )
        return None

    def _resolve(
        self,
        obj: Any,
        name: str,
        actor: Any,
        reason: str | None,
        ctx: Mapping[str, Any],
        *,
        check_reason: bool,
    ) -> TransitionEvent:
        """Everything :meth:`trigger` checks; raises :class:`TransitionError`."""
        state = self.get_state(obj)
        if name not in self._by_name:
            raise TransitionError(
                f"未知的操作“{name}”",
                status=422,
                code="unknown_transition",
                transition=name,
                state=state,
            )
        t = self._find(state, name)
        if t is None:
            raise TransitionError(
                f"{self.subject_zh}状态为“{self.label(state)}”，"
                f"不能执行“{self.transition_label(name)}”",
                status=409,
                code="invalid_state",
                transition=name,
                state=state,
            )
        if check_reason and t.require_reason and not (reason and reason.strip()):
            raise TransitionError(
                f"执行“{t.label}”必须填写原因",
                status=422,
                code="reason_required",
                transition=name,
                state=state,
            )
        event = self._event(obj, t, state, actor, reason, ctx)
        refusal = self._refusal(t, event)
        if refusal is not None:
            raise TransitionError(
                refusal, status=422, code="guard_refused", transition=name, state=state
            )
        return event

    def check(
        self,
        obj: Any,
        name: str,
        *,
        actor: Any = None,
        reason: str | None = None,
        **ctx: Any,
    ) -> TransitionEvent:
        """Raise the :class:`TransitionError` :meth:`trigger` would raise, without
        changing anything; returns the event that would happen."""
        return self._resolve(obj, name, actor, reason, ctx, check_reason=True)

    def can(self, obj: Any, name: str, *, actor: Any = None, **ctx: Any) -> bool:
        """Whether ``name`` is allowed now (state and guards; a required reason is
        not checked). An undeclared ``name`` raises :class:`TransitionError` (422),
        since that is a programming error, not a "no"."""
        try:
            self._resolve(obj, name, actor, None, ctx, check_reason=False)
        except TransitionError as error:
            if error.code == "unknown_transition":
                raise
            return False
        return True

    def available(self, obj: Any, *, actor: Any = None, **ctx: Any) -> list[Transition]:
        """Transitions allowed from the current state whose guards pass, in
        declaration order (for rendering buttons). Required reasons are not checked."""
        state = self.get_state(obj)
        allowed: list[Transition] = []
        for t in self.transitions:
            if t.allows_from(state):
                event = self._event(obj, t, state, actor, None, ctx)
                if self._refusal(t, event) is None:
                    allowed.append(t)
        return allowed

    # ------------------------------------------------------------------ action

    def trigger(
        self,
        obj: Any,
        name: str,
        *,
        actor: Any = None,
        reason: str | None = None,
        **ctx: Any,
    ) -> TransitionEvent:
        """Perform transition ``name`` on ``obj``.

        Checks that ``name`` is declared (else 422), allowed from the current
        state (else 409), has a reason if required (else 422) and that every guard
        allows it (else 422 with the guard's reason); then sets the new state and
        calls the audit hook ``on_transition(obj, name, source, target, actor,
        reason, ctx)`` (the machine's own, else the default one set with
        :func:`set_default_audit_hook`). If the hook raises, the previous state is
        restored and the exception propagates (the audit record is part of the
        transition).

        Returns:
            The :class:`TransitionEvent` that happened.
        """
        event = self._resolve(obj, name, actor, reason, ctx, check_reason=True)
        self._set_state(obj, event.target)
        hook = self._audit_hook or _default_audit_hook
        if hook is not None:
            try:
                hook(obj, event.name, event.source, event.target, actor, reason, dict(ctx))
            except BaseException:
                self._set_state(obj, event.source)
                raise
        return event


_O = TypeVar("_O")


class BoundStateMachine(Generic[_O]):
    """A :class:`StateMachine` bound to one object (what ``instance.<attr>`` returns)."""

    __slots__ = ("machine", "obj")

    def __init__(self, machine: StateMachine, obj: _O) -> None:
        self.machine = machine
        self.obj = obj

    @property
    def state(self) -> Any:
        return self.machine.get_state(self.obj)

    @property
    def state_label(self) -> str:
        return self.machine.state_label(self.obj)

    def trigger(
        self, name: str, *, actor: Any = None, reason: str | None = None, **ctx: Any
    ) -> TransitionEvent:
        return self.machine.trigger(self.obj, name, actor=actor, reason=reason, **ctx)

    def check(
        self, name: str, *, actor: Any = None, reason: str | None = None, **ctx: Any
    ) -> TransitionEvent:
        return self.machine.check(self.obj, name, actor=actor, reason=reason, **ctx)

    def can(self, name: str, *, actor: Any = None, **ctx: Any) -> bool:
        return self.machine.can(self.obj, name, actor=actor, **ctx)

    def available(self, *, actor: Any = None, **ctx: Any) -> list[Transition]:
        return self.machine.available(self.obj, actor=actor, **ctx)

    def initialize(self) -> None:
        self.machine.initialize(self.obj)
