"""Unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters from ``0-9A-HJ-NPQRTUWXY`` (no I, O, S, V, Z): registration authority (1),
organisation type (1), administrative division (6), organisation code (9) and a check
character computed with weights 3^i mod 31.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(CHARSET)}


class CreditCodeError(ValueError):
    """An invalid code; ``position`` is the 1-based index of the offending character."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def check_character(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate(code: str) -> str:
    """Return the normalised code or raise :class:`CreditCodeError` (message in Chinese)."""
    if not isinstance(code, str):
        raise CreditCodeError("统一社会信用代码必须是文本")
    code = code.strip().upper()
    if len(code) != 18:
        raise CreditCodeError(f"统一社会信用代码应为 18 位，实际为 {len(code)} 位")
    for i, c in enumerate(code[:17], start=1):
        if c not in _VALUE:
            raise CreditCodeError(f"统一社会信用代码第 {i} 位“{c}”不是允许的字符", i)
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(
            f"统一社会信用代码无效：第 18 位校验码应为“{expected}”，实际为“{code[17]}”", 18
        )
    return code


def make(first17: str) -> str:
    """Complete 17 characters with their check character (demo data, tests)."""
    if len(first17) != 17:
        raise CreditCodeError(f"需要 17 位，实际为 {len(first17)} 位")
    for i, c in enumerate(first17, start=1):
        if c not in _VALUE:
            raise CreditCodeError(f"第 {i} 位“{c}”不是允许的字符", i)
    return first17 + check_character(first17)
