"""The landing page (工作台) and the message pages (站内消息), plus what the navbar shows
on every page (the user's real name and the number of unread messages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, IndexView, expose

from core.db import db

PAGE_SIZE = 20


def _user() -> Any | None:
    user = getattr(g, "user", None)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _region_id() -> int | None:
    from core.tenancy import current_scope

    scope = current_scope()
    return None if scope.unrestricted else scope.region_id


class WorkbenchIndexView(IndexView):
    """``/``: the workbench of the signed-in user; the login page for anonymous visitors."""

    index_template = "erp/workbench.html"

    @expose("/")
    def index(self):
        user = _user()
        if user is None:
            return redirect(self.appbuilder.get_url_for_login)
        from core.workbench import cards_for, context_for

        self.update_redirect()
        ctx = context_for(db.session, user)
        groups = cards_for(ctx)
        from core.messages import messages_of

        _, recent = messages_of(db.session, user.id, unread_only=True, page_size=5)
        return self.render_template(
            self.index_template, groups=groups, recent=recent, appbuilder=self.appbuilder
        )


def _safe_link(link: str | None) -> str | None:
    """Only paths inside the platform are followed (never another host)."""
    if not link:
        return None
    parsed = urlparse(link)
    if parsed.scheme or parsed.netloc or not link.startswith("/") or link.startswith("//"):
        return None
    return link


class MessagesView(BaseView):
    """``/erp/messages/``: the user's own messages (every signed-in user; no permission
    needed, a user only ever sees and marks their own)."""

    route_base = "/erp/messages"
    default_view = "list"
    base_permissions: list[str] = []

    def _require_user(self):
        user = _user()
        if user is None:
            return None, redirect(self.appbuilder.get_url_for_login)
        return user, None

    @expose("/")
    def list(self):
        user, resp = self._require_user()
        if resp is not None:
            return resp
        from core.messages import kind_label, messages_of

        unread_only = request.args.get("unread") == "1"
        try:
            page = max(int(request.args.get("page", "0")), 0)
        except ValueError:
            page = 0
        total, rows = messages_of(db.session, user.id, unread_only=unread_only, page=page,
                                  page_size=PAGE_SIZE)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return self.render_template(
            "erp/messages.html", rows=rows, total=total, page=page, pages=pages,
            unread_only=unread_only, kind_label=kind_label,
        )

    @expose("/open/<int:message_id>", methods=["POST"])
    def open(self, message_id: int):
        user, resp = self._require_user()
        if resp is not None:
            return resp
        from core.messages import Message, mark_read

        msg = db.session.get(Message, message_id)
        if msg is None or msg.user_id != user.id:
            from werkzeug.exceptions import NotFound

            raise NotFound()
        mark_read(db.session, user.id, [message_id])
        db.session.commit()
        return redirect(_safe_link(msg.link) or url_for("MessagesView.list"))

    @expose("/read", methods=["POST"])
    def read(self):
        user, resp = self._require_user()
        if resp is not None:
            return resp
        from core.messages import mark_read

        if request.form.get("all") == "1":
            n = mark_read(db.session, user.id)
        else:
            ids = [int(i) for i in request.form.getlist("id") if i.isdigit()]
            n = mark_read(db.session, user.id, ids) if ids else 0
        db.session.commit()
        flash(f"已标记 {n} 条消息为已读" if n else "没有需要标记的未读消息", "success" if n else "info")
        return redirect(request.form.get("next") if _safe_link(request.form.get("next"))
                        else url_for("MessagesView.list"))


def navbar_context() -> dict[str, Any]:
    """``erp_nav()`` in templates: the user's real name and unread count (one query each,
    computed once per request)."""

    def erp_nav() -> dict[str, Any]:
        cached = getattr(g, "_erp_nav", None)
        if cached is not None:
            return cached
        user = _user()
        out: dict[str, Any] = {"name": "", "unread": 0}
        if user is not None:
            from core.messages import unread_count
            from core.workbench import display_name

            try:
                out["name"] = display_name(db.session, user, _region_id())
                out["unread"] = unread_count(db.session, user.id)
            except Exception:  # the navbar must render even when the database is unwell
                current_app.logger.exception("navbar data failed")
                out["name"] = getattr(user, "username", "")
        g._erp_nav = out
        return out

    return {"erp_nav": erp_nav}


def register_workbench_views(appbuilder) -> None:
    appbuilder.add_view_no_menu(MessagesView)
    app = current_app._get_current_object()  # registered inside create_app's app context
    app.context_processor(navbar_context)
    from core.views.audit import fmt_cst

    app.add_template_filter(lambda v: fmt_cst(v) or "—", "erp_datetime")
    from core.views.display import register_display_filters

    register_display_filters(app)
    from core.workbench import load_contributions

    load_contributions(app.extensions["erp"])
