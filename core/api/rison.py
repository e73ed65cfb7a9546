"""FAB's ``@rison`` decorator with the query-argument schema's validator built once.

FAB's ``flask_appbuilder.api.rison(schema)`` calls ``jsonschema.validate(instance, schema)``
on every request: that picks the validator class, checks the *schema* against its
meta-schema and builds a new validator each time, about 30% of the platform's time on a list
call (bench/api_overhead.py, issue 11). :func:`rison` here is the same decorator with the
validator class chosen and the schema checked once, when the endpoint is declared
(:func:`rison_validator`): the class is the one ``jsonschema.validate`` picks
(``validator_for``: the latest draft for FAB's schemas, which name no ``$schema``) and the
error reported is the one it reports (``best_match``), so the accepted and refused inputs and
the 400 answers (``Not a valid rison/json argument``, ``Not a valid rison schema <first line
of the error>``, through the API's ``response_400``: the envelope, code ``invalid_query``)
are FAB's, byte for byte.

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

__all__ = ["rison", "rison_validator"]

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


def _schema_error(validator: Any, instance: Any) -> str | None:
    """FAB's message for an instance the schema refuses, else None."""
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    try:
        validation_message = str(error).split("\n", 1)[0]
    except Exception:  # as FAB does
        validation_message = str(error)
    return f"Not a valid rison schema {validation_message}"


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
                            return self.response_400(message="Not a valid rison/json argument")
                    else:
                        return self.response_400(message="Not a valid rison argument")
            if validator is not None:
                message = _schema_error(validator, kwargs["rison"])
                if message is not None:
                    return self.response_400(message=message)
            return f(self, *args, **kwargs)

        return functools.update_wrapper(wraps, f)

    return _rison
