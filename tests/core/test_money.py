"""Tests for core.services.money (yuan with fen precision, never float)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError
from sqlalchemy import Integer, create_engine, literal, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.services.money import (
    FEN,
    MAX_AMOUNT,
    Money,
    MoneyError,
    MoneyField,
    MoneyTypeError,
    fmt_yuan,
    percent_of,
    quantize,
    to_money,
)

D = Decimal
PROPS = settings(max_examples=300, deadline=None)

# Any amount a NUMERIC(18, 2) column can hold, as an exact fen Decimal.
FEN_AMOUNTS = st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1).map(
    lambda fen: D(fen).scaleb(-2)
)


# --------------------------------------------------------------------------- to_money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.50", "1234.50"),
        ("  1234.5 ", "1234.50"),
        ("1,234.50", "1234.50"),
        ("1,234,567.89", "1234567.89"),
        ("-1,234.50", "-1234.50"),
        ("+7", "7.00"),
        ("¥1,234.50", "1234.50"),
        ("￥8", "8.00"),
        ("-¥0.50", "-0.50"),
        ("1.500", "1.50"),  # trailing zeros are not extra precision
        ("0", "0.00"),
        ("-0.00", "0.00"),
        (0, "0.00"),
        (42, "42.00"),
        (-3, "-3.00"),
        (D("12.3"), "12.30"),
        (D("1E+2"), "100.00"),
        (D("-0"), "0.00"),
    ],
)
def test_to_money_accepts(raw: object, expected: str) -> None:
    result = to_money(raw)  # type: ignore[arg-type]
    assert result == D(expected)
    assert str(result) == expected, "always exactly two decimals, no negative zero"


@pytest.mark.parametrize("raw", [1.5, 0.1, float("nan"), float("inf"), -0.0, 2.0])
def test_to_money_refuses_float(raw: float) -> None:
    with pytest.raises(MoneyTypeError) as info:
        to_money(raw)  # type: ignore[arg-type]
    assert info.value.code == "float"
    assert "浮点数" in str(info.value)
    # Both a ValueError (MoneyError) and a TypeError.
    assert isinstance(info.value, MoneyError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TypeError)


def test_to_money_refuses_float_even_when_not_strict() -> None:
    with pytest.raises(TypeError):
        to_money(1.25, strict=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        quantize(1.25)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("1.005", "precision", "金额最多保留两位小数"),
        (D("0.001"), "precision", "金额最多保留两位小数"),
        ("abc", "format", "金额格式不正确"),
        # only ASCII digits (issue 12 finding 11): full-width digits from a Chinese IME and
        # Arabic-Indic digits were stored as 123.45
        ("１２３.４５", "format", "金额格式不正确"),
        ("١٢٣", "format", "金额格式不正确"),
        ("1,23.00", "format", "金额格式不正确"),  # wrong grouping
        ("12,34", "format", "金额格式不正确"),
        ("1e3", "format", "金额格式不正确"),  # no scientific notation in text
        ("1.2.3", "format", "金额格式不正确"),
        (".5", "format", "金额格式不正确"),
        ("NaN", "format", "金额格式不正确"),
        ("", "empty", "金额不能为空"),
        ("   ", "empty", "金额不能为空"),
        (None, "empty", "金额不能为空"),
        (D("NaN"), "special", "NaN"),
        (D("Infinity"), "special", "无穷大"),
        (D("-Infinity"), "special", "无穷大"),
        (D("1E+16"), "range", "金额超出范围"),
        ("10000000000000000", "range", "金额超出范围"),
    ],
)
def test_to_money_refuses(raw: object, code: str, message: str) -> None:
    with pytest.raises(MoneyError) as info:
        to_money(raw)  # type: ignore[arg-type]
    assert info.value.code == code
    assert message in str(info.value)
    assert info.value.value is raw


@pytest.mark.parametrize("raw", [True, False, [1], object(), b"1.00"])
def test_to_money_refuses_other_types(raw: object) -> None:
    with pytest.raises(MoneyTypeError) as info:
        to_money(raw)  # type: ignore[arg-type]
    assert info.value.code == "type"
    assert "金额类型不正确" in str(info.value)


def test_max_amount_fits_numeric_18_2() -> None:
    assert to_money(MAX_AMOUNT) == D("9999999999999999.99")
    assert to_money(-MAX_AMOUNT) == -MAX_AMOUNT


def test_negative_refused_only_when_asked() -> None:
    assert to_money("-5") == D("-5.00")
    with pytest.raises(MoneyError) as info:
        to_money("-5", allow_negative=False)
    assert info.value.code == "negative"
    assert str(info.value) == "金额不能为负数"
    # Rounds to zero first: -0.004 is 0.00, not negative.
    assert to_money("-0.004", strict=False, allow_negative=False) == D("0.00")
    assert to_money("0", allow_negative=False) == D("0.00")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.125", "0.13"),
        ("2.675", "2.68"),  # the classic float trap: round(2.675, 2) == 2.67
        ("1.005", "1.01"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("-0.125", "-0.13"),  # half away from zero, symmetric
        ("-2.675", "-2.68"),
        ("-0.005", "-0.01"),
        ("1,234.565", "1234.57"),
        (D("9.99999"), "10.00"),
    ],
)
def test_quantize_round_half_up(raw: str | Decimal, expected: str) -> None:
    assert str(quantize(raw)) == expected
    assert str(to_money(raw, strict=False)) == expected


def test_round_half_up_differs_from_float_round() -> None:
    assert round(2.675, 2) == 2.67  # what we avoid
    assert quantize("2.675") == D("2.68")


# --------------------------------------------------------------------------- percent / fmt


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        ("1,000,000.00", 2, "20000.00"),
        ("1000000", "2%", "20000.00"),
        ("333.33", "2.5", "8.33"),  # 8.33325
        ("0.50", 1, "0.01"),  # 0.005 -> 0.01 (half up)
        ("0.49", 1, "0.00"),  # 0.0049
        ("12345.67", D("0.5"), "61.73"),  # 61.72835
        ("100.00", 0, "0.00"),
        ("-100.00", 3, "-3.00"),
        ("9999999999999999.99", 100, "9999999999999999.99"),  # exact, no context rounding
        ("9999999999999999.99", "33.333", "3333300000000000.00"),  # ...99.9966667
        ("1234567890123456.78", "33.333", "411518514814851.85"),  # ...51.8484774
    ],
)
def test_percent_of(amount: str, percent: object, expected: str) -> None:
    assert str(percent_of(amount, percent)) == expected  # type: ignore[arg-type]


def test_percent_of_refuses_float_and_sub_fen_amount() -> None:
    with pytest.raises(TypeError):
        percent_of("100.00", 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent_of(100.0, 2)  # type: ignore[arg-type]
    with pytest.raises(MoneyError) as info:
        percent_of("100.001", 2)
    assert info.value.code == "precision"
    with pytest.raises(MoneyError) as info:
        percent_of("100", "两")
    assert "百分比格式不正确" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1234.5"), "¥1,234.50"),
        ("1234.50", "¥1,234.50"),
        (0, "¥0.00"),
        (D("-1234.5"), "-¥1,234.50"),
        (D("0.005"), "¥0.01"),
        (D("-0.001"), "¥0.00"),
        (D("1234567.891"), "¥1,234,567.89"),
        (MAX_AMOUNT, "¥9,999,999,999,999,999.99"),
    ],
)
def test_fmt_yuan(value: object, expected: str) -> None:
    assert fmt_yuan(value) == expected  # type: ignore[arg-type]


def test_fmt_yuan_symbol_and_float() -> None:
    assert fmt_yuan("5", symbol="") == "5.00"
    with pytest.raises(TypeError):
        fmt_yuan(1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties


@PROPS
@given(FEN_AMOUNTS)
def test_prop_round_trip_through_text(d: Decimal) -> None:
    assert to_money(str(d)) == d
    assert to_money(format(d, ",f")) == d
    assert to_money(fmt_yuan(d)) == d
    assert to_money(d) == d


@PROPS
@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1))
def test_prop_integers_are_fen_exact(fen: int) -> None:
    assert to_money(D(fen).scaleb(-2)) * 100 == fen


@PROPS
@given(
    st.one_of(
        FEN_AMOUNTS,
        st.integers(min_value=-(10**15), max_value=10**15),
        st.decimals(allow_nan=False, allow_infinity=False, places=5).filter(
            lambda d: abs(d) <= MAX_AMOUNT
        ),
    )
)
def test_prop_result_is_decimal_with_two_places(value: Decimal | int) -> None:
    result = quantize(value)
    assert type(result) is Decimal
    assert result.as_tuple().exponent == -2
    assert abs(result - D(value)) <= FEN / 2


@PROPS
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_prop_never_float(x: float) -> None:
    with pytest.raises(TypeError):
        to_money(x)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_money(x, strict=False)  # type: ignore[arg-type]


@PROPS
@given(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.integers(min_value=0, max_value=9),
    st.sampled_from([0, 1]),
)
def test_prop_half_up_at_boundaries(fen: int, digit: int, above: int) -> None:
    """``x.xx5`` (and anything above) rounds away from zero; below rounds toward zero."""
    # value = fen/100 + digit/1000 (+ 1e-6 when ``above``), sign applied to the magnitude
    magnitude = D(abs(fen)).scaleb(-2) + D(digit).scaleb(-3) + D(above).scaleb(-6)
    sign = -1 if fen < 0 else 1
    value = magnitude * sign
    expected_fen = abs(fen) + (1 if digit >= 5 else 0)
    assert quantize(value) == D(expected_fen * sign).scaleb(-2)
    assert quantize(str(value)) == quantize(value)


@PROPS
@given(FEN_AMOUNTS)
def test_prop_strict_accepts_exactly_fen(d: Decimal) -> None:
    assert to_money(d, strict=True) == d
    with pytest.raises(MoneyError):
        to_money(d + D("0.001"), strict=True)


# --------------------------------------------------------------------------- SQLAlchemy type


class _Base(DeclarativeBase):
    pass


class _Payment(_Base):
    __tablename__ = "test_money_payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal | None] = mapped_column(Money())


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_money_type_is_numeric_18_2() -> None:
    t = Money()
    assert t.impl.precision == 18
    assert t.impl.scale == 2
    assert t.impl.asdecimal is True
    assert t.python_type is Decimal


def test_money_type_bind_param() -> None:
    t = Money()
    assert t.process_bind_param(D("1.005"), None) == D("1.01")  # type: ignore[arg-type]
    assert t.process_bind_param("2.675", None) == D("2.68")  # type: ignore[arg-type]
    assert t.process_bind_param(7, None) == D("7.00")  # type: ignore[arg-type]
    assert t.process_bind_param(None, None) is None  # type: ignore[arg-type]
    with pytest.raises(TypeError) as info:
        t.process_bind_param(1.5, None)  # type: ignore[arg-type]
    assert "浮点数" in str(info.value)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_money_column_round_trip(session: Session) -> None:
    session.add_all(
        [
            _Payment(id=1, amount=D("1234.5")),
            _Payment(id=2, amount="0.125"),  # type: ignore[arg-type]
            _Payment(id=3, amount=D("-2.675")),
            _Payment(id=4, amount=None),
        ]
    )
    session.commit()
    session.expire_all()
    got = {p.id: p.amount for p in session.scalars(select(_Payment))}
    assert got == {1: D("1234.50"), 2: D("0.13"), 3: D("-2.68"), 4: None}
    assert all(isinstance(v, Decimal) for v in got.values() if v is not None)
    assert str(got[1]) == "1234.50"
    # Comparisons bind through the type too.
    ids = session.scalars(select(_Payment.id).where(_Payment.amount > "1000")).all()
    assert ids == [1]
    assert session.scalar(select(literal(D("9.999"), Money()))) == D("10.00")


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_money_column_refuses_float(session: Session) -> None:
    session.add(_Payment(id=9, amount=12.5))  # type: ignore[arg-type]
    with pytest.raises(StatementError) as info:
        session.flush()
    assert isinstance(info.value.orig, TypeError)
    session.rollback()


# --------------------------------------------------------------------------- marshmallow


class _PaymentSchema(Schema):
    amount = MoneyField(required=True)
    fee = MoneyField(allow_none=True, allow_negative=False)
    rounded = MoneyField(strict=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1234.5", "1234.50"), ("1,234.50", "1234.50"), (12, "12.00"), ("-3", "-3.00")],
)
def test_money_field_load(raw: object, expected: str) -> None:
    data = _PaymentSchema().load({"amount": raw})
    assert data["amount"] == D(expected)
    assert isinstance(data["amount"], Decimal)


def test_money_field_load_from_json_refuses_float() -> None:
    with pytest.raises(ValidationError) as info:
        _PaymentSchema().loads('{"amount": 1234.5}')
    (message,) = info.value.messages["amount"]  # type: ignore[index]
    assert "浮点数" in message
    # A JSON integer is fine.
    assert _PaymentSchema().loads('{"amount": 1234}')["amount"] == D("1234.00")


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"amount": "abc"}, "amount", "金额格式不正确"),
        ({"amount": "1.005"}, "amount", "金额最多保留两位小数"),
        ({"amount": True}, "amount", "金额类型不正确"),
        ({"amount": "NaN"}, "amount", "金额格式不正确"),
        ({}, "amount", "该字段为必填项"),
        ({"amount": None}, "amount", "该字段不能为空"),
        ({"amount": "1", "fee": "-1"}, "fee", "金额不能为负数"),
        ({"amount": "1", "rounded": 0.5}, "rounded", "浮点数"),
    ],
)
def test_money_field_errors_in_chinese(
    payload: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        _PaymentSchema().load(payload)
    messages = info.value.messages[field]  # type: ignore[index]
    assert any(message in m for m in messages), messages


def test_money_field_non_strict_rounds_and_none_allowed() -> None:
    data = _PaymentSchema().load({"amount": "1", "rounded": "2.675", "fee": None})
    assert data == {"amount": D("1.00"), "rounded": D("2.68"), "fee": None}


def test_money_field_dump_as_string() -> None:
    out = _PaymentSchema().dump({"amount": D("1234.5"), "fee": None, "rounded": 3})
    assert out == {"amount": "1234.50", "fee": None, "rounded": "3.00"}
    assert _PaymentSchema().dumps({"amount": D("0.1")}) == '{"amount": "0.10"}'
    with pytest.raises(TypeError):
        _PaymentSchema().dump({"amount": 0.1})


def test_money_field_as_decimal() -> None:
    class S(Schema):
        amount = MoneyField(as_string=False)

    assert S().dump({"amount": "5"}) == {"amount": D("5.00")}


@PROPS
@given(FEN_AMOUNTS)
def test_prop_money_field_round_trip(d: Decimal) -> None:
    schema = _PaymentSchema()
    dumped = schema.dumps({"amount": d})
    assert schema.loads(dumped)["amount"] == d
