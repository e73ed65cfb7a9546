"""The platform's REST layer, split by job (issue 11):

* :mod:`core.api.envelope` -- the JSON error envelope, ``ApiError``, database-error
  descriptions, request-body checks (its docstring states the conventions);
* :mod:`core.api.mixin` -- ``ErpApiMixin``: the behaviour every API gets, ``ErpBaseApi``;
* :mod:`core.api.model` -- ``ErpModelRestApi``: the base of every module's model API
  (schema converter with money fields, references by id, Chinese messages, labels, rules);
* :mod:`core.api.wiring` -- ``register_api_errors``: adoption of other API views,
  app-level error handlers, JWT callbacks;
* :mod:`core.actions` -- actions declared once (endpoint, OpenAPI, page button, audit).

``from core.api import X`` keeps working for every public name below.
"""

from __future__ import annotations

from .envelope import (
    API_PREFIX,
    CODES,
    INT64,
    INT_RANGES,
    MAX_OFFSET,
    MESSAGES,
    MSG_BAD_CHARS,
    MSG_BAD_REFERENCE,
    MSG_BAD_VALUE,
    MSG_CHECK,
    MSG_DUPLICATE,
    MSG_IN_USE,
    MSG_INVALID_JSON,
    MSG_NOT_JSON,
    MSG_NOT_OBJECT,
    MSG_REQUIRED,
    ApiError,
    api_error_response,
    bad_strings,
    database_error_response,
    describe_integrity_error,
    envelope,
    erp_error_response,
    is_api_request,
    json_object_body,
    request_id,
)
from .mixin import (
    ENVELOPE_RESPONSES,
    ENVELOPE_SCHEMA,
    LIST_OPS,
    RELATION_OPS,
    SCALAR_OPS,
    TEXT_OPS,
    ErpApiMixin,
    ErpBaseApi,
)
from .model import (
    FIELD_MESSAGES,
    INVALID_MESSAGES,
    ErpModelRestApi,
    ErpRelated,
    ErpSchemaConverter,
    column_label,
    zh_field,
)
from .wiring import adopt_api_views, register_api_errors

__all__ = [
    "API_PREFIX", "CODES", "ENVELOPE_RESPONSES", "ENVELOPE_SCHEMA", "FIELD_MESSAGES", "INT64",
    "INT_RANGES", "INVALID_MESSAGES", "LIST_OPS", "MAX_OFFSET", "MESSAGES", "MSG_BAD_CHARS",
    "MSG_BAD_REFERENCE", "MSG_BAD_VALUE", "MSG_CHECK", "MSG_DUPLICATE", "MSG_INVALID_JSON",
    "MSG_IN_USE", "MSG_NOT_JSON", "MSG_NOT_OBJECT", "MSG_REQUIRED", "RELATION_OPS",
    "SCALAR_OPS", "TEXT_OPS", "ApiError", "ErpApiMixin", "ErpBaseApi", "ErpModelRestApi",
    "ErpRelated", "ErpSchemaConverter", "adopt_api_views", "api_error_response",
    "bad_strings", "column_label", "database_error_response", "describe_integrity_error",
    "envelope", "erp_error_response", "is_api_request", "json_object_body",
    "register_api_errors", "request_id", "zh_field",
]
