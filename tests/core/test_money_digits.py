"""Issue 12 finding 11: money accepts only ASCII digits, in services, the API and pages.

``Decimal("１２３")`` and the regex ``\\d`` accept full-width and Arabic-Indic digits; an
amount typed with them was stored as 123. Every path now refuses them (422 on the API, a
field error on pages) and stores nothing.
"""

from __future__ import annotations

import pytest
from flask_appbuilder.forms import FieldConverter
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict
from wtforms import Form

from addons.procurement_base.models import Project
from core.services.money import (
    AsciiDecimalField,
    MoneyError,
    MoneyField,
    MoneyFormField,
    percent_of,
    to_money,
)
from tests.addons.procurement_base.pb_world import pb  # noqa: F401

NON_ASCII = ["１２３", "١٢٣", "۱۲۳", "१२३", "12３", "１,２３４.５０", "¥１２３", "123.４５"]


@pytest.mark.parametrize("text", NON_ASCII)
def test_to_money_refuses_non_ascii_digits(text: str) -> None:
    with pytest.raises(MoneyError) as err:
        to_money(text)
    assert err.value.code == "format"


@pytest.mark.parametrize("percent", ["２", "٢", "2％５"])
def test_percent_refuses_non_ascii_digits(percent: str) -> None:
    with pytest.raises(MoneyError):
        percent_of("100.00", percent)


def test_ascii_amounts_still_parse() -> None:
    assert str(to_money("1,234.50")) == "1234.50"
    assert str(to_money("￥123")) == "123.00"


@pytest.mark.parametrize("text", NON_ASCII)
def test_marshmallow_field_refuses_non_ascii_digits(text: str) -> None:
    class S(Schema):
        amount = MoneyField()

    with pytest.raises(ValidationError) as err:
        S().load({"amount": text})
    assert err.value.messages == {"amount": ["金额格式不正确"]}


class _Form(Form):
    amount = MoneyFormField("金额")
    score = AsciiDecimalField("分数")


@pytest.mark.parametrize("text", NON_ASCII)
def test_page_form_fields_refuse_non_ascii_digits(text: str) -> None:
    form = _Form(MultiDict({"amount": text, "score": text}))
    assert not form.validate()
    assert form.amount.data is None and form.score.data is None
    assert form.errors["amount"] and form.errors["score"]
    assert all("\u534a\u89d2" in m or "格式" in m for m in form.errors["score"])


def test_page_form_fields_accept_ascii() -> None:
    form = _Form(MultiDict({"amount": "1,234.50", "score": "85.5"}))
    assert form.validate(), form.errors
    assert str(form.amount.data) == "1234.50"
    assert str(form.score.data) == "85.5"


def test_fab_converter_builds_pages_with_the_ascii_field() -> None:
    fields = {marker: field for marker, field, _ in FieldConverter.conversion_table}
    assert fields["is_numeric"] is AsciiDecimalField


@pytest.mark.parametrize("text", ["１２３", "١٢٣"])
def test_api_answers_422_and_stores_nothing(pb, text: str) -> None:  # noqa: F811
    before = pb.count(Project)
    body = {"number": "CC-DIGITS", "name": "全角金额", "purchaser": pb.org["pur_cc"],
            "catalog": pb.catalog_a02, "method": "public_tender", "budget": text}
    res = pb.post("pb_project", body)
    assert res.status_code == 422, res.get_data(as_text=True)
    assert "budget" in res.json["message"]
    assert pb.count(Project) == before


def test_page_answers_field_error_and_stores_nothing(pb) -> None:  # noqa: F811
    """The 采购项目 add page: a full-width budget is a field error, nothing saved."""
    from tests.addons.procurement_base.test_pb_pages import submit, web

    client = web(pb)
    before = pb.count(Project)
    res = submit(client, "/projectview/add", {
        "number": "CC-DIGITS-P", "name": "全角金额", "purchaser": pb.org["pur_cc"],
        "catalog": pb.catalog_a02, "method": "public_tender", "budget": "１２３",
        "region": pb.region["220102"], "sme_measure": "none",
    })
    assert res.status_code == 200, "the form is shown again"
    assert "半角阿拉伯数字" in res.get_data(as_text=True)
    assert pb.count(Project) == before
