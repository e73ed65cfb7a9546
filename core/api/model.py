"""``ErpModelRestApi``: the base class of every module's model API.

On top of the platform's API behaviour (:class:`core.api.mixin.ErpApiMixin`: the envelope,
id/body/filter checks) it gives every module:

* a schema converter (:class:`ErpSchemaConverter`): money columns as
  :class:`core.services.money.MoneyField` (strings, at most two decimals, never negative;
  derived money properties dump-only), references by id checked against what the user may
  see (:class:`ErpRelated`), Chinese field messages, one OpenAPI name per nested relation,
  and foreign-key fields (``project_id``) kept when a list names them;
* labels: ``label_columns`` completed for ``id``, ``<relation>_id`` and dotted columns;
  ``title = "采购项目"`` fills the list/show/add/edit titles;
* ``optional_on_add``: add-schema fields the rules fill when left out (``region``);
* ``rules``: the model's :class:`core.rules.ModelRules` (the same object its page uses),
  run on add, update and delete; its errors are answered in the envelope;
* :meth:`ErpModelRestApi.export_xlsx` for a module's ``/export/`` endpoint (the list's
  ``q`` filters and order, the user's scope);
* :mod:`core.actions` endpoints declared on the class (``record_actions = Actions(...)``);
* FAB's three read endpoints (``GET /``, ``GET /<pk>``, ``GET /_info``) declared again with
  the same decorators, permissions and OpenAPI text, but :func:`core.api.rison.rison`: the
  query-argument schema's validator is built once, not on every request (issue 11).
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Response, current_app
from flask_appbuilder import const as fab
from flask_appbuilder.api import BaseApi, ModelRestApi, expose, merge_response_func, safe
from flask_appbuilder.api.convert import Model2SchemaConverter, SQLAlchemyAutoSchema
from flask_appbuilder.api.schemas import get_info_schema, get_item_schema, get_list_schema
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import fields
from marshmallow import validate as mv
from marshmallow_sqlalchemy.fields import Related, RelatedList

from core.rules import ModelRules, rules_from
from core.services.money import Money, MoneyField

from .actions import install_api_actions
from .mixin import ErpApiMixin
from .rison import rison

__all__ = [
    "FIELD_MESSAGES",
    "INVALID_MESSAGES",
    "READ_ENDPOINTS",
    "ErpModelRestApi",
    "ErpReadEndpoints",
    "ErpRelated",
    "ErpSchemaConverter",
    "column_label",
    "zh_field",
]

#: Chinese messages for marshmallow's generic field errors
FIELD_MESSAGES = {
    "required": "该字段为必填项",
    "null": "该字段不能为空",
    "validator_failed": "取值无效",
}
#: Chinese "invalid" message per field class (first match wins)
INVALID_MESSAGES: dict[type, str] = {
    fields.Integer: "请输入整数",
    fields.DateTime: "时间格式不正确，应为 YYYY-MM-DDTHH:MM:SS",
    fields.Date: "日期格式不正确，应为 YYYY-MM-DD",
    fields.Boolean: "请输入 true 或 false",
    fields.String: "请输入文本",
}
#: model properties that are money (dumped as strings); a model may add
#: ``__money_properties__ = ("outstanding",)``
MONEY_PROPERTIES = frozenset({"outstanding"})


class ErpRelated(Related):
    """A reference by id: an integer id of a record the user can see, else a field error
    (marshmallow-sqlalchemy would build a new object for an unknown id)."""

    default_error_messages = {
        "invalid": "请填写记录编号（正整数）",
        "not_found": "所选记录不存在或不在您的管辖范围内",
    }

    def _deserialize(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and "id" in value:
            value = value["id"]
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
        ):
            raise self.make_error("invalid")
        pk = int(value)
        if not 0 < pk < 2**31:
            raise self.make_error("not_found")
        obj = self.session.get(self.related_model, pk)
        if obj is None:
            raise self.make_error("not_found")
        return obj


def zh_field(field: fields.Field) -> fields.Field:
    """Give a marshmallow field Chinese messages (in place; returned)."""
    messages = dict(FIELD_MESSAGES)
    for cls, text in INVALID_MESSAGES.items():
        if isinstance(field, cls):
            messages["invalid"] = text
            break
    field.error_messages = {**field.error_messages, **messages}
    new_validators = []
    for v in field.validators:
        if isinstance(v, mv.Length) and v.max is not None and v.min is None:
            v = mv.Length(max=v.max, error="长度不能超过 {max} 个字符")
        new_validators.append(v)
    field.validators = new_validators
    return field


def _money_property(model: Any, name: str) -> bool:
    attr = getattr(model, name, None)
    declared = set(getattr(model, "__money_properties__", ()) or ()) | MONEY_PROPERTIES
    return name in declared and isinstance(attr, property)


class ErpSchemaConverter(Model2SchemaConverter):
    """FAB's converter with money as :class:`MoneyField`, references checked by id,
    Chinese error messages."""

    def _meta_schema_factory(self, columns, model, class_mixin, parent_schema_name=None):
        """FAB's schema class, keeping foreign-key fields (``project_id``) that a list names:
        dotted columns into another region-scoped model (``project.number``) make FAB
        join an alias, which the central row scoping does not adapt to."""
        meta = {"model": model, "load_instance": True, "include_fk": True,
                "sqla_session": current_app.appbuilder.session,
                "parent_schema_name": parent_schema_name}
        if columns:
            meta["fields"] = columns
        return type("MetaSchema", (SQLAlchemyAutoSchema, class_mixin),
                    {"Meta": type("Meta", (), meta)})

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        # one OpenAPI name per nested relation (purchaser and supplier are both Organization)
        if nested and parent_schema_name:
            parent_schema_name = f"{parent_schema_name}.{column.name}"
        return super()._column2relation(datamodel, column, nested=nested,
                                        parent_schema_name=parent_schema_name)

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        name = column.name
        if _money_property(datamodel.obj, name):
            return MoneyField(dump_only=True)
        if not datamodel.is_relation(name):
            col = datamodel.list_columns.get(name)
            if col is not None and isinstance(getattr(col, "type", None), Money):
                if not hasattr(col, "nullable"):  # a derived column (e.g. paid_amount)
                    return MoneyField(dump_only=True)
                nullable = bool(col.nullable)
                return zh_field(MoneyField(required=not nullable, allow_none=nullable,
                                           allow_negative=False))
        field = super()._column2field(datamodel, column, nested=nested,
                                      parent_schema_name=parent_schema_name)
        if not datamodel.is_relation(name):  # URL columns: http(s) only (issue 12 finding 1)
            from core.web_security import url_field

            field = url_field(datamodel.list_columns.get(name), field)
        if datamodel.is_relation(name) and not nested:
            required, allow_none = field.required, field.allow_none
            if isinstance(field, RelatedList):
                field = RelatedList(ErpRelated(), required=required)
            else:
                field = ErpRelated(required=required, allow_none=allow_none or not required)
        return zh_field(field)


SUB_LABELS = {"id": "编号", "name": "名称", "code": "编码", "number": "编号"}


def column_label(col: str, labels: dict[str, str]) -> str:
    """Chinese label of ``id``, ``purchaser.name``, ``project_id`` from the known labels."""
    if col == "id":
        return "编号"
    if col.endswith("_id") and col[:-3] in labels:
        return f"{labels[col[:-3]]}编号"
    if "." in col:
        root, sub = col.split(".", 1)
        base = labels.get(root, {"region": "所在地区"}.get(root, root))
        return f"{base}{SUB_LABELS.get(sub, sub)}"
    return col


READ_ENDPOINTS = ("info", "get", "get_list")


class ErpReadEndpoints:
    """FAB's read endpoints, the ``q`` schema validated by a validator built once (issue 11).

    Before ``ModelRestApi`` in the MRO (``ErpModelRestApi``, and adopted plain
    ``ModelRestApi`` views that do not redefine them, :func:`core.api.wiring.adopt_api_views`).
    """

    @expose("/_info", methods=["GET"])
    @protect()
    @safe
    @rison(get_info_schema)
    @permission_name("info")
    @merge_response_func(BaseApi.merge_current_user_permissions, fab.API_PERMISSIONS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_add_field_info, fab.API_ADD_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_edit_field_info, fab.API_EDIT_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_search_filters, fab.API_FILTERS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_add_title, fab.API_ADD_TITLE_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_edit_title, fab.API_EDIT_TITLE_RIS_KEY)
    def info(self, **kwargs: Any) -> Response:
        return self.info_headless(**kwargs)

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @rison(get_item_schema)
    @merge_response_func(ModelRestApi.merge_show_label_columns, fab.API_LABEL_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_show_columns, fab.API_SHOW_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_description_columns,
                         fab.API_DESCRIPTION_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_show_title, fab.API_SHOW_TITLE_RIS_KEY)
    def get(self, pk: Any, **kwargs: Any) -> Response:
        return self.get_headless(pk, **kwargs)

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @rison(get_list_schema)
    @merge_response_func(ModelRestApi.merge_order_columns, fab.API_ORDER_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_label_columns, fab.API_LABEL_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_description_columns,
                         fab.API_DESCRIPTION_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_columns, fab.API_LIST_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_title, fab.API_LIST_TITLE_RIS_KEY)
    def get_list(self, **kwargs: Any) -> Response:
        return self.get_list_headless(**kwargs)

    # the OpenAPI text FAB keeps in the docstrings (apispec reads it from the endpoint)
    info.__doc__ = ModelRestApi.info.__doc__
    get.__doc__ = ModelRestApi.get.__doc__
    get_list.__doc__ = ModelRestApi.get_list.__doc__


class ErpModelRestApi(ErpApiMixin, ErpReadEndpoints, ModelRestApi):
    """Base class of every module's model API (instead of FAB's ``ModelRestApi``)."""

    model2schemaconverter = ErpSchemaConverter
    #: the model's rules object (shared with its page); None: no rules beyond the schema
    rules: ClassVar[ModelRules | None] = None
    #: add-schema fields the rules fill when left out
    optional_on_add: ClassVar[tuple[str, ...]] = ("region",)
    #: the record's name in Chinese ("采购项目"): fills the four titles
    title: ClassVar[str | None] = None
    #: the record's :class:`core.actions.Actions` (endpoints added at class creation)
    record_actions: ClassVar[Any] = None
    page_size = 20

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        install_api_actions(cls)

    def __init__(self) -> None:
        labels = dict(self.label_columns or {})
        for col in [*(self.list_columns or ()), *(self.show_columns or ())]:
            if col not in labels:
                labels[col] = column_label(col, labels)
        self.label_columns = labels
        title = type(self).title
        if title:
            self.list_title = self.list_title or f"{title}列表"
            self.show_title = self.show_title or f"{title}详情"
            self.add_title = self.add_title or f"新增{title}"
            self.edit_title = self.edit_title or f"修改{title}"
        super().__init__()

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        for name in self.optional_on_add:
            field = self.add_model_schema.fields.get(name)
            if field is not None:
                field.required = False
                field.allow_none = True

    # -- the rules object --------------------------------------------------------------------
    @classmethod
    def model_rules(cls) -> ModelRules:
        rules = cls.rules
        if rules is None:
            validator = getattr(cls, "validator", None)  # older modules: a function
            rules = rules_from(validator) if validator is not None else ModelRules()
        return rules

    def pre_add(self, item: Any) -> None:
        self.model_rules().before_add(self.datamodel.session, item)

    def pre_update(self, item: Any) -> None:
        self.model_rules().before_update(self.datamodel.session, item)

    def pre_delete(self, item: Any) -> None:
        self.model_rules().check_delete(self.datamodel.session, item)

    # -- export ------------------------------------------------------------------------------
    def export_xlsx(self, build: Any, **kwargs: Any) -> Any:
        """``build(query) -> (bytes, filename)`` over the list's ``q`` filters and order."""
        from core.services.export import send_xlsx

        args = kwargs.get("rison", {})
        filters = self._handle_filters_args(args)
        order_column, order_direction = self._handle_order_args(args)
        model = self.datamodel.obj
        query = self.datamodel.apply_all(self.datamodel.session.query(model), filters,
                                         order_column, order_direction)
        query = query.order_by(model.id)
        body, name = build(query)
        return send_xlsx(body, name)
