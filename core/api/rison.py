"""FAB's ``@rison`` decorator with the query-argument schema's validator built once.

FAB's ``flask_appbuilder.api.rison(schema)`` calls ``jsonschema.validate(instance, schema)``
on every request: that picks the validator class, checks the *schema* against its
meta-schema and builds a new validator each time, about 30% of the platform's time on a list
call (bench/api_overhead.py, issue 11). :func:`rison` here is the same decorator with the
validator class chosen and the schema checked once, when the endpoint is declared
(:func:`rison_validator`): the class is the one ``jsonschema.validate`` picks
(``validator_for``: the latest draft for FAB's schemas, which name no ``$schema``) and the
error reported is the one it reports (``best_match``), so the accepted and refused inputs are
FAB's. The 400 answers (the envelope, code ``invalid_query``) say in Chinese what is wrong
and where: :data:`MSG_NOT_RISON` for text that is neither rison nor JSON, and for a value the
schema refuses ``查询参数 q 不符合要求：<where> <what>`` (:func:`schema_message`), where FAB
answered ``Not a valid rison schema <jsonschema's English first line>``.

One deliberate difference: FAB catches only prison's ``ParserException``, but prison also
raises ``TypeError`` (``?q=(page_size:``, a key with no value at the end) and ``IndexError``
(``?q=!``), which FAB's ``@safe`` turned into a 500. Here every failure of the rison parser
takes FAB's path for unparsable rison (JSON tried, else 400 ``Not a valid rison/json
argument``): bad input is never a 500.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import prison
from flask import Response, current_app, request
from flask_appbuilder.const import API_URI_RIS_KEY
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

__all__ = ["MSG_NOT_RISON", "rison", "rison_validator", "schema_message"]

#: id(schema) -> (schema, its validator); the schema is kept so that its id stays its own
_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def rison_validator(schema: dict[str, Any]) -> Any:
    """The validator of ``schema``, built (and the schema checked) once per schema object."""
    hit = _VALIDATORS.get(id(schema))
    if hit is None or hit[0] is not schema:
        cls = validator_for(schema)
        cls.check_schema(schema)  # what jsonschema.validate checks on every call
        hit = (schema, cls(schema))
        _VALIDATORS[id(schema)] = hit
    return hit[1]


#: the answer to a ``q`` that is neither rison nor JSON
MSG_NOT_RISON = "查询参数 q 不是有效的 rison 或 JSON 值"
MSG_PREFIX = "查询参数 q 不符合要求："
_TYPES = {"integer": "整数", "number": "数字", "string": "文本", "array": "列表",
          "object": "对象", "boolean": "是/否", "null": "空值"}


def _names(value: Any) -> str:
    values = value if isinstance(value, (list, tuple)) else [value]
    return "、".join(_TYPES.get(v, str(v)) if isinstance(v, str) else str(v) for v in values)


def schema_message(error: Any) -> str:
    """A jsonschema error said in Chinese: where in ``q`` (``filters/0/value``) and what."""
    where = "/".join(str(p) for p in error.absolute_path) or "q"
    kind, expected = error.validator, error.validator_value
    if kind == "type":
        what = f"{where} 应为{_names(expected)}"
    elif kind == "enum":
        what = f"{where} 只能是 {_names(expected)} 之一"
    elif kind == "required":
        have = error.instance if isinstance(error.instance, dict) else {}
        missing = [k for k in expected if k not in have]
        what = f"{where} 缺少 {_names(missing or expected)}"
    elif kind == "additionalProperties":
        what = f"{where} 含有不认识的项"
    elif kind in ("minimum", "exclusiveMinimum"):
        what = f"{where} 不能小于 {expected}"
    elif kind in ("maximum", "exclusiveMaximum"):
        what = f"{where} 不能大于 {expected}"
    elif kind in ("minItems", "minLength"):
        what = f"{where} 至少要有 {expected} 项" if kind == "minItems" else f"{where} 至少 {expected} 个字符"
    elif kind in ("maxItems", "maxLength"):
        what = f"{where} 最多 {expected} 项" if kind == "maxItems" else f"{where} 最多 {expected} 个字符"
    else:
        what = f"{where} 的值不被接受"
    return MSG_PREFIX + what


def _schema_error(validator: Any, instance: Any) -> str | None:
    """The message for an instance the schema refuses (the error FAB reported), else None."""
    error = best_match(validator.iter_errors(instance))
    return None if error is None else schema_message(error)


def rison(schema: dict[str, Any] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``flask_appbuilder.api.rison`` with the schema's validator built once (see module)."""
    validator = rison_validator(schema) if schema else None

    def _rison(f: Callable[..., Any]) -> Callable[..., Any]:
        def wraps(self: Any, *args: Any, **kwargs: Any) -> Response:
            value = request.args.get(API_URI_RIS_KEY, None)
            kwargs["rison"] = {}
            if value:
                try:
                    kwargs["rison"] = prison.loads(value)
                except Exception:  # FAB: ParserException only (see module)
                    if current_app.config.get("FAB_API_ALLOW_JSON_QS", True):
                        try:  # rison failed: FAB tries JSON-encoded content
                            kwargs["rison"] = json.loads(
                                urllib.parse.parse_qs(f"{API_URI_RIS_KEY}={value}").get(
                                    API_URI_RIS_KEY
                                )[0]
                            )
                        except Exception:  # as FAB does
                            return self.response_400(message=MSG_NOT_RISON)
                    else:
                        return self.response_400(message=MSG_NOT_RISON)
            if validator is not None:
                message = _schema_error(validator, kwargs["rison"])
                if message is not None:
                    return self.response_400(message=message)
            return f(self, *args, **kwargs)

        return functools.update_wrapper(wraps, f)

    return _rison
