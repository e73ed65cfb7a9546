"""Actions declared once: core derives the API endpoint (with its OpenAPI text), the page
button and form, the audit entry, the error mapping and the commit.

An action is something a user does *to one record* beyond editing it: a state-machine
transition (publish a project, sign a contract) or a named action (refund a deposit).
Declare the model's actions once, next to its API and page::

    from marshmallow import Schema, fields
    from core.actions import Action, Actions

    class RefundBody(Schema):
        date = fields.Date(load_default=None, metadata={"label": "退还日期",
                                                        "initial": lambda s, dep: today()})
        bank_reference = fields.String(required=True, metadata={"label": "银行交易流水号"})

    DEPOSIT_ACTIONS = Actions(
        Action("refund", "退还", schema=RefundBody,
               run=lambda session, dep, body: services.refund(session, dep.id, **body),
               available=lambda session, dep: services.refusal(session, dep, "refund"),
               result=deposit_result),
        ...,
        permission="operate",                     # FAB permission: can_operate on the view
        guard=services.may_operate,               # who may act on this record
        api_path="/<int:pk>/{name}",              # one endpoint per action (or, for a
                                                  # machine, "/<int:pk>/transition/<string:name>")
        page_path="/act/<int:pk>/<string:name>",
    )

    class DepositApi(ErpModelRestApi):  record_actions = DEPOSIT_ACTIONS
    class DepositView(ErpModelView):    record_actions = DEPOSIT_ACTIONS

For a state machine, :meth:`Actions.from_machine` makes one action per transition
(label, "reason required" and availability from the machine; ``only`` some of them, who may
run each with ``action_guard``, ``extra`` actions beside them).

What core derives
-----------------

* **API** (``ErpModelRestApi`` subclasses with ``record_actions``): ``POST <api_path>``, protected
  by ``can_<permission>`` on the API's ``class_permission_name``. The record is loaded with
  the API's filters (the user's scope: unknown or out of scope -> 404, with the set's
  ``not_found`` message when given), the JSON body
  (optional when every field is optional) is loaded with the action's schema (422 with
  field messages), the guard runs (403), then ``run(session, obj, body)``; any
  :mod:`core.errors` error (``TransitionError`` included) is answered in the envelope and
  rolled back; otherwise the session is committed and the answer is
  ``{"result": result(session, obj, value)}`` with the action's ``status`` (200). The
  endpoint's OpenAPI operation is generated from the declaration (summary, path
  parameters, request body schema as a component, the responses). An action with its own
  ``api_path`` has its own endpoint beside the set's (a rating at ``/<int:pk>/rate`` beside
  the transitions at ``/<int:pk>/transition/<name>``), also when the set has no API path
  (``api_path=None``: only the actions with their own path are on the API); an error in
  the action's ``commit_on`` is answered after committing what ``run`` recorded before
  refusing. ``api_raw=True``: the API hands ``run`` the JSON object as sent, without the
  schema and the guards (the service checks and words its refusals, as an older
  hand-written endpoint did); ``page=False``: an API-only action (e.g. one endpoint that
  dispatches on its body to what the page offers as several buttons). ``caller_check``
  (on the set) refuses a caller before the body is read.
* **Idempotency keys** (``Actions(..., idempotent=True)`` or ``Action(idempotent=True)``):
  the API endpoint requires an ``Idempotency-Key`` header and answers a retry with the
  stored response (:mod:`core.api.idempotency`: 400 without a key, the stored answer with
  ``Idempotent-Replayed: true``, 422 for the same key with another body, concurrent twins
  resolved to one write); the header and the 400 are in the OpenAPI text. For systems
  that retry (banks). The page is unaffected (its forms carry a CSRF token).
* **Page** (``ErpModelView`` subclasses with ``record_actions``): the show page lists the actions
  the user may run on the record: the permission AND the guard must allow it (otherwise
  the action is not shown at all); an action not available in the record's current state
  is shown with the reason and no button; an available one as a form built from its
  schema (dates, texts, numbers, selects from ``metadata["choices"]``, checkboxes,
  hidden values) with one button. ``POST <page_path>`` runs it the same way as the API,
  flashes ``done(obj, value)`` (or "已执行“<label>”") on success, or the error's
  messages, and returns to the show page.
* **API only** (``Action(page=False)``): an endpoint kept for existing clients beside the
  actions the page offers (e-mall's legacy ``POST /<pk>/review`` beside dismiss / delist /
  correct): no button; the page endpoint answers 404 for it.
* **Not a model API or page** (``Actions(..., model=StatementMatch)``): an ``ErpBaseApi``
  declares ``record_actions`` like a model API (the record is :meth:`Actions.record`: the
  user's scope, an impossible id is 404); a page listing the records (a ``BaseView`` with
  :class:`core.views.base.ErpListActions`) gets the POST endpoint, draws each row's buttons
  from ``action_options(obj)`` (only those the user may use) and returns to
  ``action_back(obj)`` (the bank reconciliation's confirm / reject per proposed match). The
  path variable naming the action may be any ``<string:...>`` one (an endpoint that kept
  its ``/match/<int:pk>/<string:decision>``).
* **Audit**: transitions are audited by their machine's audit hook; a named action that
  does not go through a machine declares ``audit=True`` and core records one entry
  (``action=<name>``, the record, the body) in the same transaction.

Schema field ``metadata`` read by the page form: ``label``, ``placeholder``, ``help``,
``choices`` (``fn(session, obj) -> [(value, label)]``), ``initial``
(``fn(session, obj) -> value``), ``page_required`` (the page asks for it; the service
decides), ``widget`` (``"hidden"``). (Not ``default`` or ``required``: OpenAPI keywords
that apispec would copy into the spec.)

Existing API paths and bodies stay exactly as they were (see docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields

from core.errors import ErpError, ForbiddenError, NotFoundError

__all__ = ["Action", "ActionOption", "Actions", "FormInput"]

Guard = Callable[[Any, Any], Any]  # (session, obj) -> None | refusal sentence (or raises)


@dataclass(eq=False)
class Action:
    """One action on a record."""

    name: str
    label: str
    #: ``run(session, obj, body) -> value``: the service call (raises core.errors to refuse)
    run: Callable[[Any, Any, dict[str, Any]], Any]
    #: the input (API JSON body, page form); None: no input
    schema: type[Schema] | None = None
    #: FAB permission name (``can_<permission>``); None: the set's
    permission: str | None = None
    #: who may run it on this record (beside the set's guard): None/refusal, or raises
    guard: Guard | None = None
    #: whether it can run in the record's current state: None (yes), the reason it cannot
    #: (the page shows it, no button), or False (not for this record now: not shown)
    available: Guard | None = None
    #: the API's ``result`` from ``(session, obj, value)``; None: the set's
    result: Callable[[Any, Any, Any], Any] | None = None
    status: int = 200
    #: one line for the OpenAPI text (the label when empty)
    description: str = ""
    #: the page's success message: a sentence or ``fn(obj, value) -> str``
    done: str | Callable[[Any, Any], str] | None = None
    #: record one audit entry (for actions that do not go through a state machine)
    audit: bool = False
    #: bootstrap class of the page button
    button: str = "btn-primary"
    #: the page button's text: ``fn(session, obj) -> str`` (the label when None)
    button_text: Callable[[Any, Any], str] | None = None
    #: a hint beside the page form: ``fn(session, obj) -> str | None``
    note: Callable[[Any, Any], str | None] | None = None
    #: the transition needs a reason (machine actions)
    require_reason: bool = False
    #: the schema fields the page form shows (None: all of them)
    inputs: tuple[str, ...] | None = None
    #: labels of the page form's inputs (over the schema's ``metadata["label"]``)
    input_labels: dict[str, str] | None = None
    #: the page form's initial values: ``fn(session, obj) -> {field: value}``
    defaults: Callable[[Any, Any], dict[str, Any]] | None = None
    #: this action's own API endpoint (``"/<int:pk>/rate"``) instead of the set's path
    api_path: str | None = None
    #: errors after which what ``run`` wrote is still committed before the error is
    #: answered (e.g. a comparison that failed for lack of quotes stays recorded)
    commit_on: tuple[type[BaseException], ...] = ()
    #: the API endpoint requires and honours an ``Idempotency-Key`` header; None: the set's
    idempotent: bool | None = None
    #: the API hands ``run`` the JSON object as sent and leaves every check to the service
    #: (no schema load, no guard): for an API older than its declaration whose answers (field
    #: names, messages, 403/409/422 order) the service words; ``schema`` still documents the
    #: body and makes the page form, and the page still runs the guards
    api_raw: bool = False
    #: False: API only (a legacy endpoint kept for existing clients beside the actions the
    #: page offers): no button, and the page endpoint answers 404 for it
    page: bool = True


@dataclass
class FormInput:
    name: str
    label: str
    kind: str  # date, text, textarea, number, select, multiselect, checkbox, hidden
    required: bool = False
    value: Any = None
    choices: list[tuple[Any, str]] = field(default_factory=list)
    placeholder: str = ""
    help: str = ""


@dataclass
class ActionOption:
    """An action as the show page draws it for the current user."""

    action: Action
    label: str
    available: bool
    refusal: str | None
    inputs: list[FormInput]
    note: str | None = None

    @property
    def name(self) -> str:
        return self.action.name


class Actions:
    """The actions of one model (shared by its API and its page)."""

    def __init__(self, *actions: Action, permission: str = "transition",
                 guard: Guard | None = None,
                 result: Callable[[Any, Any, Any], Any] | None = None,
                 api_path: str | None = "/<int:pk>/transition/<string:name>",
                 page_path: str = "/transition/<int:pk>/<string:name>",
                 api_method: str = "transition", page_method: str = "transition",
                 machine: Any = None, module: str | None = None,
                 object_type: str | None = None, idempotent: bool = False,
                 not_found: str | None = None,
                 caller_check: Callable[[], Any] | None = None,
                 model: type | None = None) -> None:
        self.actions: dict[str, Action] = {}
        for a in actions:
            if a.name in self.actions:
                raise ValueError(f"action {a.name!r} declared twice")
            self.actions[a.name] = a
        self.permission = permission
        self.guard = guard
        self.result = result
        self.api_path = api_path
        self.page_path = page_path
        self.api_method = api_method
        self.page_method = page_method
        self.machine = machine
        self.module = module
        self.object_type = object_type
        self.idempotent = idempotent
        #: the API's 404 message (record unknown or out of the user's reach)
        self.not_found = not_found
        #: ``fn()`` on every API call, after the record and the ``Idempotency-Key`` are
        #: checked and before the body is read: raises to refuse the caller (e.g. 403 for a
        #: user acting for no organisation)
        self.caller_check = caller_check
        #: the records' model, for an API or page that is not a model one (an ``ErpBaseApi``,
        #: a ``BaseView`` listing the records): the record is :meth:`record`
        self.model = model

    def __iter__(self):
        return iter(self.actions.values())

    def __contains__(self, name: str) -> bool:
        return name in self.actions

    def get(self, name: str) -> Action | None:
        return self.actions.get(name)

    def is_idempotent(self, action: Action) -> bool:
        """Whether the API endpoint of ``action`` requires an ``Idempotency-Key``."""
        return self.idempotent if action.idempotent is None else action.idempotent

    @property
    def per_action_paths(self) -> bool:
        return bool(self.api_path) and "{name}" in self.api_path

    def record(self, session: Any, pk: Any) -> Any:
        """The record ``pk`` of :attr:`model` as the user may see it (the session's tenancy
        filter); None when unknown, out of reach or not a possible id."""
        from sqlalchemy import inspect as sa_inspect
        from sqlalchemy import types as sa_types

        if self.model is None:
            raise TypeError("Actions(model=...) is needed outside a model API or page")
        column = sa_inspect(self.model).primary_key[0]
        if isinstance(column.type, sa_types.Integer):
            try:
                pk = int(pk)
            except (TypeError, ValueError):
                return None
            top = 2**63 - 1 if isinstance(column.type, sa_types.BigInteger) else 2**31 - 1
            if not 0 <= pk <= top:
                return None
        return session.get(self.model, pk)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_machine(cls, machine: Any, run: Callable[[Any, Any, str, dict[str, Any]], Any], *,
                     schema: type[Schema] | None = None,
                     schemas: dict[str, type[Schema]] | None = None,
                     only: Iterable[str] | None = None, **kw: Any) -> Actions:
        """One action per transition of ``machine``: ``run(session, obj, name, body)``;
        availability is the machine's check (state, guards) unless ``available`` is given
        per name in ``kw["available"]`` (``fn(session, obj, name)``); who may run each is
        ``kw["action_guard"]`` (``fn(session, obj, name)``, beside the set's ``guard``);
        ``extra`` actions (not transitions of the machine) join the set."""
        available_fn = kw.pop("available", None)
        action_guard = kw.pop("action_guard", None)
        extra = kw.pop("extra", ())
        done = kw.pop("done", None)
        buttons = kw.pop("buttons", {})
        inputs = kw.pop("inputs", None)
        input_labels = kw.pop("input_labels", None)
        defaults_fn = kw.pop("defaults", None)
        seen: set[str] = set()
        actions = []
        for t in machine.transitions:
            if t.name in seen or (only is not None and t.name not in only):
                continue
            seen.add(t.name)

            def _run(session: Any, obj: Any, body: dict[str, Any], _n: str = t.name) -> Any:
                return run(session, obj, _n, body)

            def _guard(session: Any, obj: Any, _n: str = t.name) -> Any:
                return action_guard(session, obj, _n)

            def _available(session: Any, obj: Any, _n: str = t.name) -> str | None:
                if available_fn is not None:
                    return available_fn(session, obj, _n)
                return machine_refusal(machine, session, obj, _n)

            actions.append(Action(
                t.name, t.label, _run, schema=(schemas or {}).get(t.name, schema),
                available=_available, done=done, require_reason=t.require_reason,
                guard=_guard if action_guard is not None else None,
                button=buttons.get(t.name, "btn-primary"),
                inputs=inputs(t) if callable(inputs) else None,
                input_labels=input_labels(t) if callable(input_labels) else None,
                defaults=(functools.partial(defaults_fn, name=t.name)
                          if defaults_fn is not None else None)))
        return cls(*actions, *extra, machine=machine, **kw)

    # -- running ---------------------------------------------------------------------------------
    def check_guards(self, session: Any, obj: Any, action: Action) -> None:
        """Raise (403 unless the guard raised its own error) when the user may not run it."""
        for guard in (self.guard, action.guard):
            if guard is None:
                continue
            refusal = guard(session, obj)
            if refusal:
                raise ForbiddenError(str(refusal))

    def may_run(self, session: Any, obj: Any, action: Action) -> bool:
        from core.tenancy import ScopeViolation

        try:
            with session.no_autoflush:
                self.check_guards(session, obj, action)
        except (ErpError, ScopeViolation):
            return False
        return True

    def unknown(self, obj: Any, name: str) -> ErpError:
        """The error for a name this set does not offer: with a machine, its "unknown
        transition" (422, also for a transition of the machine the set leaves out), else 404."""
        if self.machine is not None:
            from core.services.statemachine import TransitionError

            return TransitionError(f"未知的操作“{name}”", status=422, code="unknown_transition",
                                   transition=name, state=self.machine.get_state(obj))
        return NotFoundError("没有该操作")

    def perform(self, session: Any, obj: Any, name: str, body: dict[str, Any], *,
                guards: bool = True) -> tuple[Action, Any]:
        """Guard (unless ``guards=False``), run and audit ``name`` on ``obj`` (no commit):
        ``(action, value)``."""
        action = self.get(name)
        if action is None:
            raise self.unknown(obj, name)
        if guards:
            self.check_guards(session, obj, action)
        value = action.run(session, obj, body)
        if action.audit:
            self._audit(session, obj, action, body)
        return action, value

    def _audit(self, session: Any, obj: Any, action: Action, body: dict[str, Any]) -> None:
        from sqlalchemy import inspect as sa_inspect

        from core.services import audit

        mapper = sa_inspect(type(obj), raiseerr=False)
        object_type = self.object_type or (
            mapper.local_table.name if mapper is not None else type(obj).__name__)
        audit.record(session, action=action.name, object_type=object_type,
                     object_id=getattr(obj, "id", None), after=_jsonable(body),
                     module=self.module, region_id=getattr(obj, "region_id", None))

    def load(self, action: Action, data: dict[str, Any]) -> dict[str, Any]:
        if action.schema is None:
            return {}
        return action.schema().load(data)

    def result_of(self, session: Any, obj: Any, action: Action, value: Any) -> Any:
        fn = action.result or self.result
        if fn is not None:
            return fn(session, obj, value)
        return {"id": getattr(obj, "id", None)}

    # -- the page --------------------------------------------------------------------------------
    def options(self, session: Any, obj: Any, may: Callable[[str], bool]) -> list[ActionOption]:
        """What the show page draws: actions the user's permission and the guard allow."""
        out = []
        for action in self:
            if not action.page or not may(action.permission or self.permission):
                continue
            if not self.may_run(session, obj, action):
                continue
            with session.no_autoflush:
                refusal = action.available(session, obj) if action.available else None
            if refusal is False:
                continue
            text = action.button_text(session, obj) if action.button_text else action.label
            note = action.note(session, obj) if action.note else None
            inputs = form_inputs(action, session, obj) if not refusal else []
            out.append(ActionOption(action, text, not refusal, refusal or None, inputs, note))
        return out

    def load_form(self, action: Action, form: Any) -> dict[str, Any]:
        """The page form as the API body (then loaded with the same schema)."""
        if action.schema is None:
            return {}
        data: dict[str, Any] = {}
        for name, f in action.schema().load_fields.items():
            key = f.data_key or name
            if isinstance(f, fields.List):
                values = [v for v in form.getlist(key) if v.strip()]
                if values:
                    data[key] = [_form_scalar(f.inner, v) for v in values]
                continue
            if isinstance(f, fields.Boolean):
                if action.inputs is not None and name not in action.inputs:
                    continue  # a checkbox the form does not draw is not "unticked"
                data[key] = form.get(key) in ("y", "on", "true", "1")
                continue
            raw = form.get(key)
            if raw is None or raw.strip() == "":
                continue
            data[key] = _form_scalar(f, raw.strip())
        return data


def name_variable(path: str) -> str | None:
    """The path variable that names the action (``<string:name>``, or another name such as
    ``<string:decision>`` for an endpoint that kept its path)."""
    found = re.findall(r"<string:(\w+)>", path)
    return found[-1] if found else None


def machine_refusal(machine: Any, session: Any, obj: Any, name: str) -> str | bool | None:
    """A transition's availability for the page: None (possible), its guard's refusal, or
    False when the record's state does not have it (the button is not shown at all)."""
    try:
        machine.check(obj, name, reason="-", session=session)
    except ErpError as exc:
        if exc.code in ("invalid_state", "unknown_transition"):
            return False
        return exc.text
    return None


def _form_scalar(f: Any, raw: str) -> Any:
    if isinstance(f, fields.Integer) and raw.lstrip("-").isdigit():
        return int(raw)
    return raw


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _kind(f: Any) -> str:
    from core.services.money import MoneyField

    widget = (f.metadata or {}).get("widget")
    if widget:
        return widget
    if isinstance(f, fields.List):
        return "multiselect"
    if (f.metadata or {}).get("choices") is not None:
        return "select"
    if isinstance(f, fields.Date):
        return "date"
    if isinstance(f, fields.Boolean):
        return "checkbox"
    if isinstance(f, MoneyField) or isinstance(f, fields.Number):
        return "number"
    return "text"


def form_inputs(action: Action, session: Any, obj: Any) -> list[FormInput]:
    if action.schema is None:
        return []
    out = []
    initial = action.defaults(session, obj) if action.defaults is not None else {}
    for name, f in action.schema().load_fields.items():
        if action.inputs is not None and name not in action.inputs:
            continue
        meta = f.metadata or {}
        choices_fn = meta.get("choices")
        default = meta.get("initial")
        if name in initial:
            value = initial[name]
        else:
            value = default(session, obj) if callable(default) else default
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        choices = list(choices_fn(session, obj)) if callable(choices_fn) else []
        out.append(FormInput(
            name=f.data_key or name,
            label=(action.input_labels or {}).get(name) or meta.get("label") or name, kind=_kind(f),
            required=bool(f.required) or bool(meta.get("page_required")), value=value,
            choices=choices, placeholder=meta.get("placeholder") or "",
            help=meta.get("help") or ""))
    return out
