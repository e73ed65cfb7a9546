"""Base classes and helpers of module pages (``core.views.ErpModelView``).

This module also maps :mod:`core.errors` for pages (:func:`page_error_response`, installed
as the app-level handler for non-API requests by :func:`core.api.register_api_errors`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args

from core.actions import ActionOption, Actions, name_variable
from core.errors import (
    ConflictError,
    ErpError,
    ForbiddenError,
    NotFoundError,
    RuleError,
    flash_error,
    form_errors,
    is_page_error,
    message_text,
    page_messages,
)
from core.rules import ModelRules, rules_from

log = logging.getLogger(__name__)


def _rollback() -> None:
    from core.db import db

    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection
        log.warning("rollback after a page error failed", exc_info=True)


def safe_referrer() -> str | None:
    """The referring page if it is on this host (a redirect target), else None."""
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def page_error_response(exc: ErpError) -> Any:
    """A page's answer to an :class:`ErpError` that escaped its handler: rolled back; 404 and
    403 as error pages; otherwise the messages flashed on the page the user came from
    (a GET without a referrer: the error page of its status)."""
    from core.views.errors import error_page

    _rollback()
    if isinstance(exc, NotFoundError):
        return error_page(404)
    if isinstance(exc, ForbiddenError) and request.method == "GET":
        return error_page(403)
    back = safe_referrer()
    if request.method != "GET" and back:
        flash_error(exc)
        return redirect(back)
    if request.method != "GET":
        flash_error(exc)
        return redirect("/")
    flash_error(exc)
    return error_page(exc.status if 400 <= exc.status < 600 else 422)


# -- display helpers shared by every module's pages ------------------------------------------------
EMPTY = "—"


def money_text(value: Any) -> str:
    """``¥1,234.50`` for an amount; empty for None."""
    from core.services.money import fmt_yuan

    return fmt_yuan(value) if value is not None else ""


def labelled(mapping: Mapping[str, str]) -> Callable[[Any], str]:
    """A formatter showing a code's Chinese label (the code itself if unknown)."""
    return lambda value: mapping.get(value, value or "")


def choices(mapping: Mapping[str, str], empty: str | None = None) -> list[tuple[str, str]]:
    out = [("", empty)] if empty is not None else []
    return out + list(mapping.items())


def select_field(label: str, mapping: Mapping[str, str], empty: str | None = None) -> Any:
    """A select of labelled codes; ``empty`` (a blank choice's text) makes it optional."""
    from flask_appbuilder.fieldwidgets import Select2Widget
    from wtforms import SelectField
    from wtforms.validators import DataRequired

    return SelectField(label, choices=choices(mapping, empty), widget=Select2Widget(),
                       validators=[] if empty is not None else [DataRequired("请选择")])


def flag_field(label: str, default: bool = False) -> Any:
    """A checkbox that may stay unticked (unticked = False)."""
    from wtforms import BooleanField

    return BooleanField(label, default=default)


def region_field(blank: str) -> Any:
    """An optional region choice (the rules fill it in when left empty)."""
    from flask_appbuilder.fields import QuerySelectField
    from flask_appbuilder.fieldwidgets import Select2Widget

    from core.db import db
    from core.models import Region

    return QuerySelectField(
        "所在地区", query_func=lambda: db.session.query(Region).order_by(Region.code),
        get_pk_func=lambda r: r.id, allow_blank=True, blank_text=blank, widget=Select2Widget(),
    )


def parse_date(raw: str | None, field: str = "date") -> dt.date | None:
    """A form's ISO date (empty: None); a bad one is a RuleError on ``field``."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise RuleError({field: ["日期格式不正确，应为 YYYY-MM-DD"]}) from None


def blank_as_dash(value: Any) -> Any:
    return EMPTY if value is None or value == "" else value


def none_safe(fmt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def wrapped(value: Any) -> Any:
        return EMPTY if value is None else fmt(value)

    return wrapped


# -- the base class of model pages ---------------------------------------------------------------
class ErpModelView(ModelView):
    """Base of every module's model pages (instead of FAB's ``ModelView``).

    * ``rules``: the model's :class:`core.rules.ModelRules` (the same object as its API's);
      a refusal is shown on the form's fields (``%`` safe) and nothing is written;
    * an empty value shows as ``—`` in lists and on the show page, never ``None``;
    * non-null Boolean columns on the add/edit forms are optional checkboxes (unticked =
      False), for every page automatically (FAB makes them required input);
    * ``export_permission``: the list page shows an Excel export button (endpoint
      ``<View>.export``, build it with :meth:`export_xlsx`);
    * ``record_actions``: the record's :class:`core.actions.Actions` (buttons and forms on the
      show page for the users who may run them, and their POST endpoint).
    """

    rules: ClassVar[ModelRules | None] = None
    record_actions: ClassVar[Any] = None
    list_template = "erp/model_list.html"
    show_template = "erp/model_show.html"
    page_size = 20
    #: the permission (view name) of the Excel export, when the page has one
    export_permission: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        install_page_actions(cls)

    def __init__(self, **kwargs: Any) -> None:
        formatters = dict(type(self).formatters_columns or {})
        for col in [*(self.list_columns or []), *(self.show_columns or [])]:
            if col not in formatters:
                formatters[col] = blank_as_dash
            elif not getattr(formatters[col], "_erp_none_safe", False):
                formatters[col] = none_safe(formatters[col])
                formatters[col]._erp_none_safe = True  # type: ignore[attr-defined]
        self.formatters_columns = formatters
        self._erp_optional_booleans()
        super().__init__(**kwargs)
        self.extra_args = {
            **(self.extra_args or {}),
            "erp_export_endpoint": f"{type(self).__name__}.export" if self.export_permission else None,
            "erp_export_permission": self.export_permission,
        }

    def _erp_optional_booleans(self) -> None:
        """Non-null Boolean columns become optional checkboxes on the add and edit forms."""
        datamodel = self.datamodel
        labels = dict(type(self).label_columns or {})
        for cols_attr, extra_attr in (("add_columns", "add_form_extra_fields"),
                                      ("edit_columns", "edit_form_extra_fields")):
            extra = dict(getattr(type(self), extra_attr, None) or {})
            cols = getattr(self, cols_attr, None) or []
            changed = False
            for col in cols:
                if col in extra or not _non_null_boolean(datamodel, col):
                    continue
                column = datamodel.list_columns.get(col)
                default = getattr(getattr(column, "default", None), "arg", False)
                extra[col] = flag_field(labels.get(col, col), bool(default) if not callable(default) else False)
                changed = True
            if changed:
                setattr(self, extra_attr, extra)

    # -- rules -----------------------------------------------------------------------------
    @classmethod
    def model_rules(cls) -> ModelRules:
        rules = cls.rules
        if rules is None:
            validator = getattr(cls, "validator", None)
            rules = rules_from(validator) if validator is not None else ModelRules()
        return rules

    def pre_add(self, item: Any) -> None:
        self.model_rules().before_add(self.datamodel.session, item)

    def pre_update(self, item: Any) -> None:
        self.model_rules().before_update(self.datamodel.session, item)

    def pre_delete(self, item: Any) -> None:
        try:
            self.model_rules().check_delete(self.datamodel.session, item)
        except Exception as exc:
            if not is_page_error(exc) or isinstance(exc, ErpError):
                raise
            raise ConflictError(message_text(page_messages(exc))) from None

    # -- forms: field-level messages ----------------------------------------------------------
    def form_errors(self, form: Any, exc: Exception) -> None:
        self.datamodel.session.rollback()
        form_errors(form, exc)

    def _erp_save(self, form: Any, item: Any, *, new: bool) -> bool | None:
        """Populate, run the rules, write; False: the form shows the errors."""
        try:
            # the rules see the posted values before anything is flushed: an autoflush would
            # write a half-checked record (and run flush listeners on it) mid-validation
            with self.datamodel.session.no_autoflush:
                form.populate_obj(item)
                _json_columns_from_text(self.datamodel, item)
                _blank_text_as_null(item)
                if not new and not self.datamodel.session.is_modified(item):
                    # an edit form posted back unchanged: nothing to check or write (a record
                    # whose state forbids changes may still be re-saved as it is)
                    flash(self.edit_row_message, "success")
                    return None
                if new:
                    self.pre_add(item)
                else:
                    self.pre_update(item)
        except Exception as exc:
            if not is_page_error(exc):
                raise
            self.form_errors(form, exc)
            return False
        try:
            if new:
                self.datamodel.add(item)
                self.post_add(item)
                flash(self.add_row_message, "success")
            else:
                self.datamodel.edit(item)
                self.post_update(item)
                flash(self.edit_row_message, "success")
        except Exception as exc:
            self.datamodel.session.rollback()
            if is_page_error(exc):
                flash_error(exc)
            else:
                log.warning("page write refused by the database: %s", exc)
                flash(f"保存失败，未写入任何数据：{_db_message(exc)}", "danger")
        return None

    def _add(self):
        is_valid_form = True
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                if self._erp_save(form, self.datamodel.obj(), new=True) is None:
                    return None
            is_valid_form = False
        if is_valid_form:
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            if form.validate():
                self.process_form(form, False)
                if self._erp_save(form, item, new=False) is None:
                    return None
                item = self.datamodel.get(pk, self._base_filters)
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            item, orders=get_order_args(), pages={}, page_sizes={}, widgets=widgets)

    # -- show page with the record's actions ------------------------------------------------
    def show_context(self, item: Any) -> dict[str, Any]:
        """Extra template variables of the show page (override to add)."""
        return {}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        widgets = self._show(pk)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views, item=item,
            erp_actions=page_options(self, item), erp_action_endpoint=(
                f"{type(self).__name__}.{self.record_actions.page_method}"
                if self.record_actions else None),
            **self.show_context(item))

    # -- export ---------------------------------------------------------------------------------
    def export_xlsx(self, build: Any) -> Any:
        """``build(query) -> (bytes, filename)`` over the list's current filters and order."""
        from core.services.export import send_xlsx

        get_filter_args(self._filters)
        filters = self._filters.get_joined_filters(self._base_filters)
        order_column, order_direction = get_order_args().get(
            type(self).__name__, self.base_order or ("", ""))
        model = self.datamodel.obj
        query = self.datamodel.apply_all(self.datamodel.session.query(model), filters,
                                         order_column, order_direction).order_by(model.id)
        body, name = build(query)
        return send_xlsx(body, name)


def _json_columns_from_text(datamodel: Any, item: Any) -> None:
    """A JSON column edited as text on a page holds the parsed value, never the text (a
    re-posted form then compares equal; invalid JSON is left for the rules to refuse)."""
    import json

    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy import types as sa_types

    for attr in sa_inspect(type(item)).column_attrs:
        column = attr.columns[0]
        if not isinstance(column.type, sa_types.JSON):
            continue
        value = getattr(item, attr.key, None)
        if isinstance(value, str):
            text = value.strip()
            if not text:
                setattr(item, attr.key, None)
                continue
            try:
                setattr(item, attr.key, json.loads(text))
            except ValueError:
                pass


def _blank_text_as_null(item: Any) -> None:
    """An empty text box leaves a nullable text column NULL (FAB would store ''): an
    unchanged form compares equal, and '' never collides in a unique column."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy import types as sa_types

    for attr in sa_inspect(type(item)).column_attrs:
        column = attr.columns[0]
        if not isinstance(column.type, sa_types.String) or not getattr(column, "nullable", False):
            continue
        value = getattr(item, attr.key, None)
        if isinstance(value, str) and not value.strip():
            setattr(item, attr.key, None)


def _non_null_boolean(datamodel: Any, col: str) -> bool:
    from sqlalchemy import types as sa_types

    column = datamodel.list_columns.get(col)
    col_type = getattr(column, "type", None)
    return isinstance(col_type, sa_types.Boolean) and getattr(column, "nullable", True) is False


def _db_message(exc: Exception) -> str:
    from sqlalchemy.exc import IntegrityError

    if isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError):
        return "与现有数据冲突（重复或仍被引用）"
    return "数据库拒绝了该数据"


# -- record actions on the pages (core.actions) -----------------------------------------------
def install_page_actions(view_cls: type) -> None:
    """Add the page endpoint of ``view_cls.actions`` (called at class creation)."""
    from flask_appbuilder.security.decorators import permission_name

    actions: Actions | None = view_cls.__dict__.get("record_actions")
    if actions is None:
        return

    var = name_variable(actions.page_path)

    def endpoint(self: Any, pk: Any, **kw: Any) -> Any:
        name = kw.get(var or "name") or kw.get("action") or ""
        return run_page(self, actions, pk, name)

    endpoint.__name__ = actions.page_method
    endpoint.__qualname__ = f"{view_cls.__qualname__}.{actions.page_method}"
    endpoint.__doc__ = "Run one of the record's actions from its show page."
    wrapped = permission_name(actions.permission)(endpoint)
    wrapped = has_access(wrapped)
    wrapped = expose(actions.page_path, methods=["POST"])(wrapped)
    setattr(view_cls, actions.page_method, wrapped)


def run_page(view: Any, actions: Actions, pk: Any, name: str) -> Any:
    obj, session = page_record(view, actions, pk)
    if obj is None:
        abort(404)
    action = actions.get(name)
    if action is None or not action.page:
        abort(404)
    perm = action.permission or actions.permission
    if perm != actions.permission and not view.appbuilder.sm.has_access(
            f"can_{perm}", view.class_permission_name):
        abort(403)
    back = redirect(view.action_back(obj) if hasattr(view, "action_back")
                    else _show_url(view, pk))
    try:
        body = actions.load(action, actions.load_form(action, request.form))
        action, value = actions.perform(session, obj, name, body)
        session.commit()
    except Exception as exc:
        if not is_page_error(exc):
            raise
        if isinstance(exc, action.commit_on):
            session.commit()  # what the action recorded before refusing stays
            flash(f"“{action.label}”未完成：", "danger")
        else:
            session.rollback()
            flash(f"“{action.label}”未完成（未写入任何数据）：", "danger")
        flash_error(exc)
        return back
    done = action.done
    text = done(obj, value) if callable(done) else (done or f"已执行“{action.label}”")
    flash(text, "success")
    return back


def _show_url(view: Any, pk: Any) -> str:
    from flask import url_for

    return url_for(f"{type(view).__name__}.show", pk=pk)


def page_record(view: Any, actions: Actions, pk: Any) -> tuple[Any, Any]:
    """The record (None: unknown or out of the user's scope) and the session: through the
    model page's datamodel and filters, else :meth:`Actions.record`."""
    datamodel = getattr(view, "datamodel", None)
    if datamodel is not None:
        return datamodel.get(pk, view._base_filters), datamodel.session
    from core.db import db

    return actions.record(db.session, pk), db.session


def page_options(view: Any, obj: Any) -> list[ActionOption]:
    """The actions the current user may run on ``obj`` (for the show template)."""
    actions: Actions | None = getattr(type(view), "record_actions", None)
    if actions is None or obj is None:
        return []
    sm = view.appbuilder.sm
    may = functools.lru_cache(maxsize=None)(
        lambda perm: bool(sm.has_access(f"can_{perm}", view.class_permission_name)))
    datamodel = getattr(view, "datamodel", None)
    if datamodel is not None:
        session = datamodel.session
    else:
        from core.db import db

        session = db.session
    return actions.options(session, obj, may)


class ErpListActions:
    """Mixin of a page that is not a model page (a ``BaseView``) listing records, each
    with its :mod:`core.actions` buttons (``record_actions = Actions(..., model=...)``):
    core adds the POST endpoint (``page_path``, ``<View>.<page_method>``); the template draws
    a row's buttons from :meth:`action_options` (only those the user may run, posting to
    ``url_for(action_endpoint, pk=..., name=opt.name)``); after an action the user returns to
    :meth:`action_back` (the page's default view; override to keep its filters).
    """

    record_actions: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        install_page_actions(cls)

    @property
    def action_endpoint(self) -> str:
        return f"{type(self).__name__}.{self.record_actions.page_method}"

    def action_options(self, obj: Any) -> list[ActionOption]:
        return page_options(self, obj)

    def action_back(self, obj: Any) -> str:
        from flask import url_for

        return url_for(f"{type(self).__name__}.{self.default_view}")
