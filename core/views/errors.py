"""Error pages in Chinese inside the platform's layout (403/404/405/429/500 and the rest).

API paths (``/api/...``) keep their JSON envelope (``{"status", "message"}``); every other
path gets ``erp/error.html`` with the navbar, so a user who follows a stale bookmark or a
forbidden link can carry on. A page of a module that is installed but switched off for the
user's region answers 404 with 本地区未启用该模块 (:class:`ModuleNotEnabled`).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

log = logging.getLogger(__name__)

MODULE_NOT_ENABLED = "本地区未启用该模块"

#: status -> (title, explanation)
PAGES: dict[int, tuple[str, str]] = {
    400: ("请求有误", "提交的内容无法处理，请返回检查后重试。"),
    401: ("需要登录", "请先登录后再访问该页面。"),
    403: ("无权访问", "您的账号没有访问该页面或执行该操作的权限。如需开通，请联系本单位或本地区的管理员。"),
    404: ("页面不存在", "您访问的页面不存在或已被移除，也可能是链接有误。"),
    405: ("操作方式不被允许", "该页面不支持这种操作方式，请从页面上的按钮进入。"),
    409: ("操作冲突", "该记录已被他人修改或状态已变化，请刷新后重试。"),
    413: ("上传内容过大", "上传的文件超过了允许的大小。"),
    422: ("无法处理", "提交的内容不符合业务规则，请返回检查后重试。"),
    429: ("操作过于频繁", "您在短时间内的请求次数过多，请稍候几分钟再试。"),
    500: ("系统内部错误", "系统处理您的请求时出错，本次操作未完成。请稍后重试；如果问题持续，请联系平台运维人员。"),
    503: ("服务暂不可用", "系统正在维护或负载过高，请稍后再试。"),
}


class ModuleNotEnabled(NotFound):
    """The page belongs to a module that is not enabled for the user's region."""

    description = MODULE_NOT_ENABLED


def page_texts(status: int, exc: BaseException | None = None) -> tuple[str, str]:
    if isinstance(exc, ModuleNotEnabled):
        return MODULE_NOT_ENABLED, ("该功能所属的模块未在您所在的地区启用，或已被本地区停用；"
                                    "已有数据不会丢失。如需使用，请联系本地区的管理员启用该模块。")
    if status in PAGES:
        return PAGES[status]
    if status >= 500:
        return PAGES[500]
    return ("无法完成请求", "请求未能完成，请返回上一页重试。")


def error_page(status: int, exc: BaseException | None = None):
    title, detail = page_texts(status, exc)
    try:
        appbuilder = current_app.appbuilder
        html = render_template("erp/error.html", status=status, title=title, detail=detail,
                               appbuilder=appbuilder, base_template=appbuilder.base_template)
    except Exception:  # the layout itself failed (e.g. the database is down): plain page
        log.exception("the error page could not be drawn in the layout")
        html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
                f"<title>{title}</title></head><body><h1>{status} {title}</h1><p>{detail}</p>"
                f'<p><a href="/">返回首页</a></p></body></html>')
    return html, status


def json_error(status: int, exc: HTTPException | None = None):
    if isinstance(exc, ModuleNotEnabled):
        message = MODULE_NOT_ENABLED
    else:
        message = (exc.description or exc.name) if exc is not None else page_texts(status)[0]
    return jsonify({"status": status, "message": message}), status


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    if request.path.startswith("/api/"):
        return json_error(status, exc)
    if status < 400 or exc.response is not None:
        return exc
    return error_page(status, exc)


def handle_server_error(exc: InternalServerError):
    original = getattr(exc, "original_exception", None)
    if original is not None:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    if request.path.startswith("/api/"):
        return jsonify({"status": 500, "message": "系统内部错误"}), 500
    try:
        from core.db import db

        db.session.rollback()
    except Exception:
        pass
    return error_page(500, exc)


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
