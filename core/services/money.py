"""Money (金额): yuan with fen precision, as :class:`decimal.Decimal`, never ``float``.

Every amount in the platform is a ``Decimal`` with exactly two decimal places
(fen, 分). Binary floats cannot represent most fen amounts (``0.1 + 0.2 !=
0.3``), so this module refuses them everywhere: in :func:`to_money`, in the
SQLAlchemy column type :class:`Money` and in the marshmallow field
:class:`MoneyField`.

Rounding is ``ROUND_HALF_UP`` (四舍五入) on the decimal digits as written:
``"0.125" -> 0.13``, ``"2.675" -> 2.68``, ``"-0.125" -> -0.13`` (ties go away
from zero, symmetric for negative amounts).

Public API
----------
* :class:`MoneyError` (``ValueError``), :class:`MoneyTypeError` (also a
  ``TypeError``): Chinese messages, a machine-readable :attr:`MoneyError.code`.
* :func:`to_money` - parse/validate one amount; strict by default.
* :func:`quantize` - round to fen (non-strict :func:`to_money`).
* :func:`percent_of` - ``amount * percent / 100`` rounded to fen.
* :func:`percent_cap` - a cap of ``percent`` per cent: the exact value to compare with and
  the value to show, rounded DOWN to the fen (an amount above the exact cap is refused).
* :func:`fmt_yuan` - ``"¥1,234.50"``.
* :class:`Money` - SQLAlchemy ``NUMERIC(18, 2)`` column type.
* :class:`MoneyField` - marshmallow field, serializes as the string ``"1234.50"``.
* :class:`MoneyFormField` - WTForms field for pages, same parsing as :func:`to_money`;
  :func:`install_form_field` makes it (ASCII digits only) the page field of every
  numeric column (FAB's form converter).

Only ASCII digits make an amount: full-width ``"１２３"`` and Arabic-Indic ``"١٢٣"``
digits (which ``Decimal()`` and ``\\d`` accept) are refused with code ``"format"``.
"""

from __future__ import annotations

import decimal
import numbers
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from marshmallow import fields
from sqlalchemy.engine import Dialect
from sqlalchemy.types import Numeric, TypeDecorator

__all__ = [
    "FEN",
    "MoneyFormField",
    "install_form_field",
    "MAX_AMOUNT",
    "MONEY_PRECISION",
    "MONEY_SCALE",
    "Money",
    "MoneyError",
    "MoneyField",
    "MoneyTypeError",
    "fmt_yuan",
    "percent_cap",
    "percent_of",
    "quantize",
    "to_money",
]

MONEY_PRECISION = 18
MONEY_SCALE = 2
FEN = Decimal("0.01")
"""One fen (分), the quantum of every amount."""
MAX_AMOUNT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE) - FEN
"""Largest absolute amount a ``NUMERIC(18, 2)`` column holds: 9,999,999,999,999,999.99."""

# Local context for the arithmetic: wide enough that no intermediate result of
# amount * percent is rounded before the final quantize to fen.
_CTX = decimal.Context(prec=60, rounding=ROUND_HALF_UP, traps=[decimal.InvalidOperation])

# Optional sign, optional yuan sign (half-width ¥ U+00A5 or full-width ￥ U+FFE5),
# then digits with or without *correct* thousands grouping, then optional fraction.
_MONEY_RE = re.compile(
    r"""
    (?P<sign>[+-]?)
    [¥￥]?
    (?P<int>\d{1,3}(?:,\d{3})+|\d+)
    (?P<frac>\.\d+)?
    """,
    re.VERBOSE | re.ASCII,  # ASCII digits only: "１２３" and "١٢٣" are not amounts
)
_PERCENT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


class MoneyError(ValueError):
    """An amount is missing, malformed, out of range or has sub-fen digits.

    ``str(error)`` is a Simplified Chinese message fit for end users.

    Attributes:
        code: machine-readable reason: ``"empty"``, ``"float"``, ``"type"``,
            ``"format"``, ``"special"`` (NaN/infinity), ``"precision"`` (more
            than two decimals in strict mode), ``"negative"``, ``"range"``.
        value: the rejected input.
    """

    def __init__(self, message: str, *, code: str, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.value = value


class MoneyTypeError(MoneyError, TypeError):
    """The input has a type money cannot come from (``float``, ``bool``, ...).

    Both a :class:`MoneyError` (``ValueError``) and a ``TypeError``, so callers
    may catch either.
    """


def _type_error(value: Any) -> MoneyTypeError:
    if isinstance(value, float):
        return MoneyTypeError(
            '金额不能使用浮点数，请使用字符串或 Decimal（如 "1234.50"）',
            code="float",
            value=value,
        )
    return MoneyTypeError(f"金额类型不正确：{type(value).__name__}", code="type", value=value)


def _parse(value: Any) -> Decimal:
    """Turn an accepted input into a finite, in-range ``Decimal`` (not yet quantized)."""
    if value is None:
        raise MoneyError("金额不能为空", code="empty", value=value)
    # bool is an int subclass and float may hide in numpy scalars; check first.
    if isinstance(value, bool | float):
        raise _type_error(value)
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, numbers.Integral):  # int, numpy integers
        d = Decimal(int(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("金额不能为空", code="empty", value=value)
        m = _MONEY_RE.fullmatch(text)
        if m is None:
            raise MoneyError(f"金额格式不正确：{value!r}", code="format", value=value)
        d = Decimal(m["sign"] + m["int"].replace(",", "") + (m["frac"] or ""))
    else:
        raise _type_error(value)
    if not d.is_finite():
        raise MoneyError("金额不能为 NaN 或无穷大", code="special", value=value)
    if abs(d) > MAX_AMOUNT:
        raise MoneyError(
            f"金额超出范围（绝对值不能超过 {MAX_AMOUNT:,}）", code="range", value=value
        )
    return d


def to_money(
    value: Decimal | int | str,
    *,
    strict: bool = True,
    allow_negative: bool = True,
) -> Decimal:
    """Validate ``value`` as an amount of money and return it quantized to fen.

    Accepted: ``Decimal``, ``int`` (and numpy integers), ``str``. Strings are
    stripped of surrounding whitespace and may use thousands separators
    (``"1,234.50"``, grouping must be correct), a leading sign and a yuan sign
    (``"¥1,234.50"``, ``"-¥3.00"``, so :func:`fmt_yuan` output parses back).
    Scientific notation is refused in strings.

    Args:
        value: the amount.
        strict: if true (default) an amount that is not a whole number of fen
            (``"1.005"``) is refused with code ``"precision"``; trailing zeros
            (``"1.500"``) are fine. If false it is rounded ROUND_HALF_UP.
        allow_negative: if false, amounts below zero are refused with code
            ``"negative"`` (checked after rounding; ``-0.00`` is zero).

    Returns:
        A ``Decimal`` with exponent -2 (``Decimal("1234.50")``); negative zero
        is normalized to ``Decimal("0.00")``.

    Raises:
        MoneyTypeError: ``float`` (including numpy floats), ``bool`` or another
            unsupported type.
        MoneyError: empty, malformed, NaN/infinity, beyond ``NUMERIC(18, 2)``,
            too many decimals (strict) or negative (``allow_negative=False``).
    """
    d = _parse(value)
    q = d.quantize(FEN, rounding=ROUND_HALF_UP, context=_CTX)
    if strict and q != d:
        raise MoneyError("金额最多保留两位小数", code="precision", value=value)
    if q.is_zero():
        q = Decimal("0.00")  # drop a negative zero's sign
    if not allow_negative and q < 0:
        raise MoneyError("金额不能为负数", code="negative", value=value)
    return q


def quantize(value: Decimal | int | str) -> Decimal:
    """Round an amount to fen with ROUND_HALF_UP (``Decimal("2.675") -> 2.68``).

    Same inputs and errors as :func:`to_money` with ``strict=False``; floats
    are still refused.
    """
    return to_money(value, strict=False)


def _to_percent(percent: Decimal | int | str) -> Decimal:
    if isinstance(percent, bool | float):
        raise MoneyTypeError(
            '百分比不能使用浮点数，请使用字符串或 Decimal（如 "2.5"）',
            code="float" if isinstance(percent, float) else "type",
            value=percent,
        )
    if isinstance(percent, Decimal):
        p = percent
    elif isinstance(percent, numbers.Integral):
        p = Decimal(int(percent))
    elif isinstance(percent, str):
        text = percent.strip().removesuffix("%").removesuffix("％").strip()
        if not _PERCENT_RE.fullmatch(text):
            raise MoneyError(f"百分比格式不正确：{percent!r}", code="format", value=percent)
        p = Decimal(text)
    else:
        raise MoneyTypeError(
            f"百分比类型不正确：{type(percent).__name__}", code="type", value=percent
        )
    if not p.is_finite():
        raise MoneyError("百分比不能为 NaN 或无穷大", code="special", value=percent)
    return p


def percent_of(amount: Decimal | int | str, percent: Decimal | int | str) -> Decimal:
    """``percent`` per cent of ``amount``, rounded to fen with ROUND_HALF_UP.

    ``percent`` is in per cent: ``2`` (or ``"2"``, ``"2%"``, ``Decimal("2.5")``)
    means 2 %, e.g. a deposit capped at 2 % of the budget::

        percent_of("1,000,000.00", 2)  == Decimal("20000.00")
        percent_of("333.33", "2.5")    == Decimal("8.33")   # 8.33325 -> 8.33

    ``amount`` is validated strictly by :func:`to_money` (no sub-fen digits).
    The product is computed exactly and rounded once.
    """
    a = to_money(amount)
    p = _to_percent(percent)
    product = _CTX.divide(_CTX.multiply(a, p), Decimal(100))
    return to_money(product, strict=False)


class Cap(NamedTuple):
    """A cap of some per cent of an amount: ``exact`` (unrounded) to compare with,
    ``shown`` (rounded down to the fen: the largest amount that is within the cap)."""

    exact: Decimal
    shown: Decimal

    def exceeded_by(self, amount: Decimal | int | str) -> bool:
        return to_money(amount) > self.exact


def percent_cap(amount: Decimal | int | str, percent: Decimal | int | str) -> Cap:
    """The cap of ``percent`` per cent of ``amount``, never rounded up::

        percent_cap("123456.78", 2)  == Cap(Decimal("2469.1356"), Decimal("2469.13"))

    2,469.14 is above this cap (rounding the cap to fen first would let it through)."""
    a = to_money(amount)
    p = _to_percent(percent)
    exact = _CTX.divide(_CTX.multiply(a, p), Decimal(100))
    shown = exact.quantize(FEN, rounding=decimal.ROUND_FLOOR, context=_CTX)
    return Cap(exact, Decimal("0.00") if shown.is_zero() else shown)


def fmt_yuan(value: Decimal | int | str, *, symbol: str = "¥") -> str:
    """Format an amount for display: ``"¥1,234.50"``, ``"-¥0.50"``.

    The value is rounded to fen (ROUND_HALF_UP) first; floats are refused.
    """
    d = quantize(value)
    sign = "-" if d < 0 else ""
    return f"{sign}{symbol}{abs(d):,.2f}"


class Money(TypeDecorator[Decimal]):
    """SQLAlchemy column type for amounts: ``NUMERIC(18, 2)``, ``Decimal`` in and out.

    ::

        amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)

    On the way in (bind parameters and literals) values go through
    :func:`quantize`: ``Decimal``/``int``/``str`` are rounded to fen with
    ROUND_HALF_UP; ``float`` raises :class:`MoneyTypeError` (a ``TypeError``;
    SQLAlchemy wraps it in ``StatementError`` when raised during a flush).
    On the way out values are ``Decimal`` quantized to fen.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(precision=MONEY_PRECISION, scale=MONEY_SCALE, asdecimal=True)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def process_bind_param(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise _type_error(value)
        return quantize(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        if value is None:
            return "NULL"
        return str(self.process_bind_param(value, dialect))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            # Drivers without a native decimal (SQLite) may hand back a float;
            # its shortest repr is the stored decimal text for <= 15 digits.
            value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return value.quantize(FEN, rounding=ROUND_HALF_UP, context=_CTX)


class MoneyField(fields.Decimal):
    """Marshmallow field for amounts.

    Deserializes ``str`` (``"1,234.50"``), ``int`` and ``Decimal`` through
    :func:`to_money`; refuses JSON numbers with a fraction (they arrive as
    ``float`` and may already have lost precision) and ``bool``. Serializes as
    the string ``"1234.50"`` (``as_string=False`` gives a ``Decimal``).

    Args:
        strict: refuse sub-fen digits (default) instead of rounding them.
        allow_negative: accept amounts below zero (default true).
        as_string: serialize as ``str`` (default) rather than ``Decimal``.
        **kwargs: the usual marshmallow ``Field`` arguments (``required``,
            ``allow_none``, ``validate``, ``error_messages``, ...).

    Error messages (keys of ``error_messages``) are in Chinese and match
    :attr:`MoneyError.code`: ``invalid`` (format), ``float``, ``type``,
    ``special``, ``precision``, ``negative``, ``range``, ``empty``.
    """

    default_error_messages = {
        "required": "该字段为必填项",
        "null": "该字段不能为空",
        "invalid": "金额格式不正确",
        "float": '金额不能以浮点数提交，请使用字符串（如 "1234.50"）',
        "type": "金额类型不正确",
        "special": "金额不能为 NaN 或无穷大",
        "precision": "金额最多保留两位小数",
        "negative": "金额不能为负数",
        "range": "金额超出范围",
        "empty": "金额不能为空",
    }

    def __init__(
        self,
        *,
        strict: bool = True,
        allow_negative: bool = True,
        as_string: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(places=MONEY_SCALE, rounding=ROUND_HALF_UP, as_string=as_string, **kwargs)
        self.strict = strict
        self.allow_negative = allow_negative

    def _validated(self, value: Any) -> Decimal:
        try:
            return to_money(value, strict=self.strict, allow_negative=self.allow_negative)
        except MoneyError as error:
            key = "invalid" if error.code == "format" else error.code
            raise self.make_error(key) from error

    def _format_num(self, value: Any) -> Decimal:
        # Serialization: refuse floats here too (fail loudly on a model bug).
        return quantize(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return self._validated(value)

    def _serialize(
        self, value: Any, attr: str | None, obj: Any, **kwargs: Any
    ) -> str | Decimal | None:
        if value is None:
            return None
        d = self._format_num(value)
        return format(d, "f") if self.as_string else d


_ASCII_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def _form_field_classes() -> tuple[type, type]:
    from wtforms import DecimalField

    class AsciiDecimalField(DecimalField):
        """FAB's page field of a numeric column, refusing non-ASCII digits (``Decimal()``
        turns ``"１２３"`` into 123) and scientific notation."""

        def process_formdata(self, valuelist: list[Any]) -> None:
            if valuelist and isinstance(valuelist[0], str) and valuelist[0].strip():
                text = valuelist[0].strip()
                if not _ASCII_NUMBER_RE.fullmatch(text):
                    self.data = None
                    raise ValueError("请输入半角阿拉伯数字（0-9），如 1234.50")
            super().process_formdata(valuelist)

    class MoneyFormField(AsciiDecimalField):
        """A page field for an amount: parsed like :func:`to_money` (ASCII digits,
        thousands separators, at most two decimals), Chinese message on error."""

        def __init__(self, *args: Any, strict: bool = True, allow_negative: bool = True,
                     **kwargs: Any) -> None:
            kwargs.setdefault("places", MONEY_SCALE)
            super().__init__(*args, **kwargs)
            self.strict = strict
            self.allow_negative = allow_negative

        def process_formdata(self, valuelist: list[Any]) -> None:
            if not valuelist or valuelist[0] is None or not str(valuelist[0]).strip():
                self.data = None
                return
            try:
                self.data = to_money(str(valuelist[0]), strict=self.strict,
                                     allow_negative=self.allow_negative)
            except MoneyError as error:
                self.data = None
                raise ValueError(error.message) from error

    return AsciiDecimalField, MoneyFormField


AsciiDecimalField, MoneyFormField = _form_field_classes()


def install_form_field() -> None:
    """Make :class:`AsciiDecimalField` the page field of every numeric column in FAB's
    form converter (idempotent). Called when this module is imported, so every page form
    built afterwards refuses non-ASCII digits."""
    from flask_appbuilder.forms import FieldConverter

    table = list(FieldConverter.conversion_table)
    for i, (marker, field, widget) in enumerate(table):
        if marker == "is_numeric" and field is not AsciiDecimalField:
            table[i] = (marker, AsciiDecimalField, widget)
    FieldConverter.conversion_table = tuple(table)


install_form_field()
