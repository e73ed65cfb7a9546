"""The API side of :mod:`core.actions`: endpoints and their OpenAPI text, added to an
``ErpModelRestApi`` (or, with ``Actions(model=...)``, an ``ErpBaseApi``) subclass that
declares ``record_actions`` (at class creation)."""

from __future__ import annotations

from typing import Any

import yaml
from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from core.actions import Action, Actions, name_variable
from core.errors import NotFoundError

from .envelope import ApiError, json_object_body
from .idempotency import OPENAPI_HEADER, idempotent


def _openapi(actions: Actions, names: list[str], body: str | None, permission: str,
             path: str) -> str:
    """The endpoint's docstring: a summary line, then the OpenAPI operation as YAML."""
    labels = "、".join(f"{n}（{actions.actions[n].label}）" for n in names)
    first = actions.actions[names[0]]
    summary = (first.description or first.label) if len(names) == 1 else f"执行操作：{labels}"
    params = [{"in": "path", "name": "pk", "required": True, "schema": {"type": "integer"},
               "description": "记录编号"}]
    var = name_variable(path)
    if var:
        params.append({"in": "path", "name": var, "required": True,
                       "schema": {"type": "string", "enum": names},
                       "description": f"操作：{labels}"})
    keyed = any(actions.is_idempotent(actions.actions[n]) for n in names)
    if keyed:
        params.append(dict(OPENAPI_HEADER))
    op: dict[str, Any] = {
        "summary": summary,
        "description": (f"权限：can_{permission}。记录不存在或不在管辖范围内 404；无权对该记录执行 403；"
                        "输入有误 422（按字段给出原因）；当前状态不允许 409。成功后写入审计日志。"
                        + ("请求头须带 Idempotency-Key（缺少时 400；重试返回首次的结果）。"
                           if keyed else "")),
        "parameters": params,
        "responses": {
            str(first.status): {
                "description": "the record after the action",
                "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"result": {"type": "object"}}}}},
            },
            **{str(s): {"$ref": f"#/components/responses/{s}"} for s in (400, 401, 403, 404, 409, 422)},
        },
    }
    if body:
        op["requestBody"] = {"required": False, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    text = yaml.safe_dump({"post": op}, allow_unicode=True, sort_keys=False)
    return f"{summary}\n---\n{text}"


def _body_component(api_cls: type, action: Action, endpoint: str | None = None) -> Any:
    """The body schema under a name unique to the endpoint (``ProjectApi.transition.body``)."""
    assert action.schema is not None
    key = endpoint or action.name
    name = f"{api_cls.__name__}.{key}.body"
    return type(f"{action.schema.__name__}_{api_cls.__name__}_{key}", (action.schema,),
                {"__component_name__": name, "__module__": action.schema.__module__})


def install_api_actions(api_cls: type) -> None:
    """Add the action endpoints declared by ``api_cls.actions`` (called at class creation)."""
    actions: Actions | None = api_cls.__dict__.get("record_actions")
    if actions is None or not (actions.api_path or any(a.api_path for a in actions)):
        return
    components = list(getattr(api_cls, "openapi_spec_component_schemas", ()) or ())

    def add(method: str, path: str, names: list[str], permission: str) -> None:
        schemas = {actions.actions[n].schema for n in names}
        body = None
        if len(schemas) == 1 and None not in schemas:  # one body for the endpoint
            comp = _body_component(api_cls, actions.actions[names[0]],
                                   method if len(names) > 1 else None)
            components.append(comp)
            body = comp.__component_name__

        var = name_variable(path)

        def endpoint(self: Any, pk: Any, **kw: Any) -> Any:
            name = kw.get(var) if var else None
            return self._erp_answer(lambda: run_api(self, actions, pk, name or names[0], names))

        endpoint.__name__ = method
        endpoint.__qualname__ = f"{api_cls.__qualname__}.{method}"
        endpoint.__doc__ = _openapi(actions, names, body, permission, path)
        wrapped = permission_name(permission)(endpoint)
        wrapped = safe(wrapped)
        wrapped = protect()(wrapped)
        wrapped = expose(path, methods=["POST"])(wrapped)
        setattr(api_cls, method, wrapped)

    shared = [a for a in actions if not a.api_path]
    for a in actions:
        if a.api_path:  # its own endpoint
            add(a.name, a.api_path, [a.name], a.permission or actions.permission)
    if not actions.api_path:
        shared = []  # only the actions with their own path are on the API
    if actions.per_action_paths:
        for a in shared:
            add(a.name, actions.api_path.replace("{name}", a.name), [a.name],
                a.permission or actions.permission)
    elif shared:
        add(actions.api_method, actions.api_path, [a.name for a in shared], actions.permission)
    api_cls.openapi_spec_component_schemas = tuple(components)


def _api_body(action: Action) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    return json_object_body() if raw.strip() else {}


def api_record(view: Any, actions: Actions, pk: Any) -> tuple[Any, Any]:
    """The record (None: unknown or out of the user's scope) and the session: through the
    model API's datamodel and filters, else :meth:`Actions.record`."""
    datamodel = getattr(view, "datamodel", None)
    if datamodel is not None:
        return datamodel.get(view._erp_pk(pk), view._base_filters), datamodel.session
    from core.db import db

    return actions.record(db.session, pk), db.session


def run_api(view: Any, actions: Actions, pk: Any, name: str,
            names: list[str] | None = None) -> Any:
    """One action through the API: ``names`` are those the endpoint offers."""
    obj, session = api_record(view, actions, pk)
    if obj is None:
        if actions.not_found:
            raise NotFoundError(actions.not_found)
        raise ApiError(404)
    action = actions.get(name)
    if action is None or (names is not None and name not in names):
        raise actions.unknown(obj, name)

    def load() -> dict[str, Any]:
        raw = _api_body(action)
        return raw if action.api_raw else actions.load(action, raw)

    checked = not action.api_raw
    if actions.is_idempotent(action):
        def do(session: Any) -> tuple[int, Any]:
            done, value = actions.perform(session, obj, name, load(), guards=checked)
            session.flush()
            return done.status, {"result": actions.result_of(session, obj, done, value)}

        return idempotent(session, do, check=actions.caller_check, commit_on=action.commit_on)
    if actions.caller_check is not None:
        actions.caller_check()
    body = load()
    try:
        action, value = actions.perform(session, obj, name, body, guards=checked)
    except action.commit_on:
        session.commit()  # what the action recorded before refusing stays
        raise
    session.commit()
    return view.response(action.status,
                         result=actions.result_of(session, obj, action, value))


