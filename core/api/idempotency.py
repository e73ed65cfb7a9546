"""Idempotency keys on API writes (banks' and other systems' retries never write twice).

A write made idempotent (an action declared ``idempotent=True`` in :mod:`core.actions`, or
any endpoint through :func:`idempotent`) requires an ``Idempotency-Key`` header (1-100
characters, unique per request of the caller: its organisation, or the user when it has
none):

* missing or too long: 400 ``idempotency_key_required``, nothing runs;
* a key already answered: the stored response (same status, same body) with the header
  ``Idempotent-Replayed: true``; nothing runs again;
* a key already used for another request (method, path or body differ): 422
  ``idempotency_key_reused``;
* two requests with the same key at the same time: the key is claimed (inserted) before
  the write runs, so the second waits for the first and then gets its stored answer.

The response is stored with the key in the write's transaction; an error answer (4xx) is
rolled back with the write and not stored (a corrected retry may reuse the key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, make_response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.errors import ForbiddenError

from .envelope import ApiError

__all__ = ["IDEMPOTENCY_HEADER", "OPENAPI_HEADER", "REPLAYED_HEADER", "idempotent",
           "idempotency_owner"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MSG_REQUIRED = "请在请求头 Idempotency-Key 中提供本次请求的唯一编号（1 到 100 个字符）"
MSG_REUSED = "该 Idempotency-Key 已用于另一个请求，请换一个编号"
#: the OpenAPI header parameter of an idempotent write
OPENAPI_HEADER: dict[str, Any] = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": ("本次请求的唯一编号（1 到 100 个字符，同一单位内不重复）。缺少时 400；"
                    "以同一编号重试时返回首次的结果（响应头 Idempotent-Replayed: true），"
                    "不会重复写入；同一编号用于另一个请求时 422"),
}


def idempotency_owner() -> tuple[str, int | None, int | None]:
    """``(owner, org_id, user_id)`` of the caller: its organisation, else the user."""
    from core.tenancy import current_scope

    scope = current_scope()
    if scope.org_id is not None:
        return f"org:{scope.org_id}", scope.org_id, scope.user_id
    if scope.user_id is not None:
        return f"user:{scope.user_id}", None, scope.user_id
    raise ForbiddenError("请先登录")


def _key() -> str:
    key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not key or len(key) > 100:
        raise ApiError(400, {IDEMPOTENCY_HEADER: [MSG_REQUIRED]}, "idempotency_key_required")
    return key


def _json_response(text: str, status: int) -> Response:
    res = make_response(text, status)
    res.mimetype = "application/json"
    return res


def idempotent(session: Any, do: Callable[[Any], tuple[int, Any]], *,
               check: Callable[[], Any] | None = None,
               commit_on: tuple[type[BaseException], ...] = ()) -> Response:
    """Run ``do(session) -> (status, payload)`` once per ``Idempotency-Key`` of the caller
    and commit; answer the payload as JSON (or the stored answer of an earlier request).
    ``check()`` runs after the key is checked, before anything else (it raises to refuse);
    an error in ``commit_on`` commits what ``do`` wrote, without the key, and is raised."""
    from core.models import IdempotencyKey

    key = _key()
    if check is not None:
        check()
    owner, org_id, user_id = idempotency_owner()
    digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\n"
                            + request.get_data(cache=True)).hexdigest()

    def stored() -> Response | None:
        row = session.execute(select(IdempotencyKey).where(
            IdempotencyKey.owner == owner, IdempotencyKey.key == key)).scalars().first()
        if row is None:
            return None
        if row.request_hash != digest:
            raise ApiError(422, {IDEMPOTENCY_HEADER: [MSG_REUSED]}, "idempotency_key_reused")
        res = _json_response(row.response, row.status_code)
        res.headers[REPLAYED_HEADER] = "true"
        return res

    previous = stored()
    if previous is not None:
        return previous
    # claim the key first: a concurrent request with the same key waits here for this
    # transaction, then finds the stored answer
    row = IdempotencyKey(owner=owner, org_id=org_id, user_id=user_id, key=key,
                         method=request.method, path=request.path[:300], request_hash=digest,
                         status_code=0, response="",
                         created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        previous = stored()
        if previous is None:
            raise
        return previous
    try:
        status, payload = do(session)
    except commit_on:
        session.delete(row)  # an error answer is not stored: the key stays free
        session.commit()
        raise
    text = json.dumps(payload, ensure_ascii=False, default=str)
    row.status_code, row.response = status, text
    session.commit()
    return _json_response(text, status)
