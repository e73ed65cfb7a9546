"""The platform's errors: raise them in services; API and pages map them in one place.

Every error carries an HTTP ``status``, a machine ``code`` and ``messages`` (a Chinese
sentence, or ``{field: [Chinese messages]}`` when fields are at fault; ``_schema`` is the
record as a whole)::

    from core.errors import RuleError, DuplicateError, NotFoundError

    def validate_listing(session, listing):
        if listing.price <= 0:
            raise RuleError({"price": ["价格必须大于 0"]})
        if exists(...):
            raise DuplicateError({"sku": ["该型号已挂网"]})

==================  ======  ==================  ==============================================
class               status  code                when
==================  ======  ==================  ==============================================
``RuleError``       422     validation_error    a business rule refused the input (by field)
``ConflictError``   409     conflict            the record's state does not allow it now
``DuplicateError``  409     duplicate           a value that must be unique is repeated
``NotFoundError``   404     not_found           unknown or out-of-scope record
``ForbiddenError``  403     forbidden           the user may not do this to this record
``TransitionError``  409/422 invalid_state, ...  a state-machine transition refused
==================  ======  ==================  ==============================================

Where they are mapped (no add-on maps them itself):

* API (``core.api``): ``ErpModelRestApi._erp_answer`` and the app-level handler answer
  ``{"status": ..., "message": messages, "code": code, **extra}`` and roll back;
* pages (``core.views.ErpModelView`` and the app-level handler for non-API requests): the
  field messages go onto the form's fields (:func:`form_errors`), anything else is flashed
  (:func:`flash_error`), the session is rolled back and nothing is written.

``RuleError`` is also a marshmallow ``ValidationError`` (code written before this module
catches ``ValidationError`` and keeps working); every other error derives only from
:class:`ErpError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

__all__ = [
    "ConflictError",
    "DuplicateError",
    "ErpError",
    "ForbiddenError",
    "NotFoundError",
    "RuleError",
    "as_field_messages",
    "message_text",
]

Messages = str | Mapping[str, Any]


class ErpError(Exception):
    """Base of the platform's errors.

    ``ErpError(messages=None, *, code=None, status=None, **extra)``: ``extra`` keys go into
    the API envelope beside status/message/code (e.g. ``transition``, ``state``).
    """

    status: int = 500
    code: str = "error"
    default_message: str = "操作失败"

    def __init__(self, messages: Messages | None = None, *, code: str | None = None,
                 status: int | None = None, **extra: Any) -> None:
        if messages in (None, "", {}):
            messages = self.default_message
        if isinstance(messages, Mapping):
            messages = {str(k): _as_list(v) for k, v in messages.items()}
        self.messages: str | dict[str, list[str]] = messages  # type: ignore[assignment]
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra: dict[str, Any] = extra
        Exception.__init__(self, self.text)  # not super(): ValidationError would reset messages

    @property
    def text(self) -> str:
        """The messages as one sentence (joined with ``；``)."""
        return message_text(self.messages)

    @property
    def field_messages(self) -> dict[str, list[str]]:
        """``{field: [messages]}`` (a sentence becomes ``{"_schema": [sentence]}``)."""
        return as_field_messages(self.messages)

    def __str__(self) -> str:
        return self.text


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, Mapping):  # nested schema messages: flatten
        return [message_text(value)]
    return [str(value)]


def message_text(messages: Any) -> str:
    """A sentence from a message, a list, or ``{field: [messages]}``."""
    if messages is None:
        return ""
    if isinstance(messages, str):
        return messages
    if isinstance(messages, Mapping):
        return "；".join(message_text(v) for v in messages.values() if v)
    if isinstance(messages, (list, tuple)):
        return "；".join(message_text(v) for v in messages if v)
    return str(messages)


def as_field_messages(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        return {str(k): _as_list(v) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return {"_schema": [message_text(m) for m in messages]}
    return {"_schema": [message_text(messages)]}


class RuleError(ErpError, ValidationError):
    """A business rule refused the input (422): ``{field: [Chinese message]}`` or a sentence."""

    status = 422
    code = "validation_error"
    default_message = "数据校验未通过"

    def __init__(self, messages: Messages | None = None, *, code: str | None = None,
                 status: int | None = None, **extra: Any) -> None:
        ErpError.__init__(self, messages, code=code, status=status, **extra)
        # marshmallow's attributes, so code catching ValidationError reads it as one
        self.field_name = "_schema"
        self.data = None
        self.valid_data = None
        self.kwargs: dict[str, Any] = {}


class ConflictError(ErpError):
    """The record's state or a concurrent change does not allow this now (409)."""

    status = 409
    code = "conflict"
    default_message = "与现有数据冲突"


class DuplicateError(ConflictError):
    """A value that must be unique is repeated (409 ``duplicate``): name the field."""

    code = "duplicate"
    default_message = "该值已存在"


class NotFoundError(ErpError):
    """The record does not exist or is outside the user's scope (404)."""

    status = 404
    code = "not_found"
    default_message = "未找到请求的记录"


class ForbiddenError(ErpError):
    """The user may not do this (to this record) (403)."""

    status = 403
    code = "forbidden"
    default_message = "没有执行此操作的权限"


# -- the page layer ------------------------------------------------------------------------
def page_messages(exc: BaseException) -> dict[str, list[str]]:
    """``{field: [messages]}`` for any error a page may show (ErpError, marshmallow
    ValidationError, the tenancy layer's ScopeViolation, TransitionError)."""
    from core.tenancy import ScopeViolation

    if isinstance(exc, ErpError):
        return exc.field_messages
    if isinstance(exc, ScopeViolation):
        return {exc.field: [exc.message]}
    if isinstance(exc, ValidationError):
        return as_field_messages(exc.messages)
    return {"_schema": [str(getattr(exc, "message", None) or exc)]}


def _safe(text: str) -> str:
    """FAB renders field errors through gettext (``%`` formatting): "2%" -> "2％"."""
    return text.replace("%", "％")


def form_errors(form: Any, exc: BaseException, *, aliases: Mapping[str, str] | None = None,
                summary: str | None = "数据校验未通过，未保存任何数据，请按提示修改") -> None:
    """Put an error's field messages onto a WTForms form; flash what has no field.

    ``aliases`` maps error keys to form field names (``region_id`` -> ``region`` is built
    in: ``<relation>_id`` goes to ``<relation>`` when the form has it).
    """
    from flask import flash

    aliases = dict(aliases or {})
    for key, texts in page_messages(exc).items():
        name = aliases.get(key, key)
        if name not in form and name.endswith("_id") and name[:-3] in form:
            name = name[:-3]
        texts = [_safe(t) for t in texts]
        if name in form and name != "_schema":
            form[name].errors = [*list(form[name].errors or ()), *texts]
        else:
            for text in texts:
                flash(text, "danger")
    if summary:
        flash(summary, "danger")


def flash_error(exc: BaseException) -> None:
    """Flash an error's messages (a page's action refused)."""
    from flask import flash

    for texts in page_messages(exc).values():
        for text in texts:
            flash(_safe(text), "danger")


def is_page_error(exc: BaseException) -> bool:
    """An error a page shows to the user (rather than a bug)."""
    from core.tenancy import ScopeViolation

    return isinstance(exc, (ErpError, ValidationError, ScopeViolation))
