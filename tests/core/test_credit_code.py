import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.services.credit_code import CHARSET, CreditCodeError, make, validate


def test_published_sample_code() -> None:
    # the sample code printed in GB 32100-2015 guides
    assert make("91350100M000100Y4") == "91350100M000100Y43"
    assert validate(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_wrong_check_character_names_position_and_expected() -> None:
    good = make("91220101MA0Y0A1B2")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(CreditCodeError) as info:
        validate(bad)
    assert info.value.position == 18 and f"应为“{good[17]}”" in str(info.value)


@pytest.mark.parametrize(
    "code, position, text",
    [("9122010", None, "应为 18 位"), ("91220101MA0Y0A1BI2", 17, "第 17 位“I”"),
     ("O1220101MA0Y0A1B22", 1, "第 1 位")],
)
def test_bad_codes(code, position, text) -> None:
    with pytest.raises(CreditCodeError) as info:
        validate(code)
    assert info.value.position == position and text in str(info.value)


@given(st.text(alphabet=CHARSET, min_size=17, max_size=17))
def test_every_completed_code_validates_and_any_other_check_fails(first17: str) -> None:
    code = make(first17)
    assert validate(code) == code
    for c in CHARSET:
        if c != code[17]:
            with pytest.raises(CreditCodeError):
                validate(first17 + c)
            break
