"""The OpenAPI description says what the API does (issue 12 finding 15).

FAB 5.3's generated spec disagrees with its own answers in a few systematic ways; rather than
patching every API, the served spec (``GET /api/v1/_openapi``) is corrected here, centrally:

* ids: FAB declares ``id`` (201, show) and ``ids`` (list) as strings; they are the primary
  key values (integers here);
* ``_info``: ``add_columns``/``edit_columns`` are arrays of field descriptions, not objects;
* date-times: the platform stores and returns local times (Asia/Shanghai) without an offset;
  ``format: date-time`` (RFC 3339) requires one, so they are declared as strings with the
  pattern they follow;
* xlsx exports (``/export/`` endpoints, views marked with :func:`xlsx_endpoint`, or a 200 whose
  description says xlsx) are declared with their media type, not JSON.

And ``_info``'s field descriptions: FAB translates an empty description with gettext, which
returns the catalog's header ("Project-Id-Version: ..."); :func:`field_info` gives the real
description (the API's ``description_columns``, else the field's label).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, request

from .envelope import ENVELOPE_SCHEMA

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_CONTENT = {XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}
ID_SCHEMA = {"anyOf": [{"type": "integer"}, {"type": "string"}],
             "description": "the record's id (primary key)"}
LOCAL_DATETIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$",
    "description": "local date and time (Asia/Shanghai), ISO 8601, e.g. 2025-03-25T09:30:00; "
                   "returned without an offset",
    "example": "2025-03-25T09:30:00",
}
FIELD_INFO = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "label": {"type": "string"},
            "description": {"type": "string"},
            "type": {"type": "string", "description": "the marshmallow field class"},
            "required": {"type": "boolean"},
            "unique": {"type": "boolean"},
            "validate": {"type": "array", "items": {"type": "string"}},
            "count": {"type": "integer"},
            "values": {"type": "array", "items": {"type": "object"}},
        },
    },
}
_PO_HEADER = re.compile(r"^Project-Id-Version:", re.M)

F = TypeVar("F", bound=Callable[..., Any])


def xlsx_endpoint(fn: F) -> F:
    """Mark an API endpoint whose 200 answer is an xlsx file (declared as such in the spec)."""
    fn._erp_xlsx = True  # type: ignore[attr-defined]
    return fn


def field_info(api: Any, info: dict[str, Any], field: Any) -> dict[str, Any]:
    """``_info``'s description of one field, with a real description."""
    from flask_babel import gettext

    name = getattr(field, "name", None) or info.get("name")
    given = (getattr(api, "description_columns", None) or {}).get(name) or ""
    desc = gettext(given) if given else ""
    if not desc or _PO_HEADER.search(str(desc)):
        desc = str(info.get("label") or "")
    info["description"] = str(desc)
    return info


# -- the spec ----------------------------------------------------------------------------------
def _walk(node: Any, fn: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        fn(node)
        for value in list(node.values()):
            _walk(value, fn)
    elif isinstance(node, list):
        for value in node:
            _walk(value, fn)


def _datetimes(node: dict[str, Any]) -> None:
    if node.get("type") == "string" and node.get("format") == "date-time":
        del node["format"]
        for key, value in LOCAL_DATETIME.items():
            node.setdefault(key, value)


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content") or {}
    media = content.get("application/json") or {}
    schema = media.get("schema")
    return schema if isinstance(schema, dict) else None


def _fix_ids(schema: dict[str, Any]) -> None:
    props = schema.get("properties") or {}
    ident = props.get("id")
    if isinstance(ident, dict) and ident.get("type") == "string" and "$ref" not in ident:
        props["id"] = dict(ID_SCHEMA)
    ids = props.get("ids")
    if isinstance(ids, dict) and isinstance(ids.get("items"), dict) \
            and ids["items"].get("type") == "string":
        ids["items"] = dict(ID_SCHEMA)


def _xlsx_paths(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of endpoints marked with :func:`xlsx_endpoint`."""
    out = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "_erp_xlsx", False):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods or ():
                out.add((path, method.lower()))
    return out


#: answers any operation may give, whatever it declares: the platform gives them centrally
#: (400 bad query/JSON, 401/403 access, 404 module not enabled or id not found, 413 size,
#: 422 validation, 500 a bug, 503 SQLite busy); 409 on writes; 429 on the login
COMMON_STATUSES = ("400", "401", "403", "404", "413", "422", "500", "503")
EXTRA_RESPONSES = {
    "413": "Request body too large (MAX_CONTENT_LENGTH or the endpoint's limit)",
    "429": "Too many failed logins: wait Retry-After seconds",
    "503": "Busy (SQLite write lock): retry after Retry-After seconds",
}


def _common_responses(spec: dict[str, Any]) -> None:
    known = spec.setdefault("components", {}).setdefault("responses", {})
    for status, description in EXTRA_RESPONSES.items():
        known.setdefault(status, {
            "description": description,
            "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
        })
    for path, item in (spec.get("paths") or {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in (
                    "get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            wanted = list(COMMON_STATUSES)
            if method != "get":
                wanted.append("409")
            if path.endswith("/security/login"):
                wanted.append("429")
            for status in wanted:
                if status in known:
                    responses.setdefault(status, {"$ref": f"#/components/responses/{status}"})


def fix_spec(spec: dict[str, Any], app: Flask) -> dict[str, Any]:
    """Correct FAB's generated spec in place (see the module docstring); returns it."""
    marked = _xlsx_paths(app)
    _common_responses(spec)
    for path, item in (spec.get("paths") or {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            responses = operation.get("responses") or {}
            ok = responses.get("200")
            is_export = (path.rstrip("/").endswith("/export") and method == "get") or (
                (path, method) in marked) or (
                isinstance(ok, dict) and "xlsx" in str(ok.get("description", "")).lower()
                and "$ref" not in ok)
            if is_export and isinstance(ok, dict):
                ok["content"] = dict(XLSX_CONTENT)
            for status, response in responses.items():
                if not str(status).startswith("2") or not isinstance(response, dict):
                    continue
                schema = _json_schema(response)
                if schema is None:
                    continue
                _fix_ids(schema)
                if path.endswith("/_info"):
                    props = schema.setdefault("properties", {})
                    for key in ("add_columns", "edit_columns"):
                        if key in props:
                            props[key] = dict(FIELD_INFO)
    _walk(spec, _datetimes)
    _nullable_relations(spec)
    _menu_separators(spec)
    return spec


def _nullable_relations(spec: dict[str, Any]) -> None:
    """A nested record (``region``) is null when the optional relation is empty."""
    for schema in ((spec.get("components") or {}).get("schemas") or {}).values():
        for prop, value in list((schema.get("properties") or {}).items()):
            if isinstance(value, dict) and set(value) == {"$ref"}:
                schema["properties"][prop] = {"allOf": [value], "nullable": True}


def _menu_separators(spec: dict[str, Any]) -> None:
    """FAB's menu API returns "-" for a separator among a menu's children."""
    op = ((spec.get("paths") or {}).get("/api/v1/menu/") or {}).get("get") or {}
    schema = _json_schema((op.get("responses") or {}).get("200") or {})
    try:
        childs = schema["properties"]["result"]["items"]["properties"]["childs"]  # type: ignore[index]
    except (KeyError, TypeError):
        return
    childs["items"] = {"oneOf": [{"type": "object"},
                                 {"type": "string", "description": "\"-\": a separator"}]}


def register_spec_fixes(app: Flask) -> None:
    """Serve the corrected spec at ``/api/v1/_openapi``."""

    @app.after_request
    def _fix_openapi(resp: Response) -> Response:
        if (request.endpoint or "").endswith("OpenApi.get") and resp.status_code == 200 \
                and resp.is_json:
            spec = resp.get_json()
            if isinstance(spec, dict) and "paths" in spec:
                resp.set_data(app.json.dumps(fix_spec(spec, app)))
        return resp
