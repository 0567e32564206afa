"""Phone identifiers: any formatting of one number gives the same E.164 value as parsing it as written."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.services.identity_rules import normalize_phone


def _parsed_as_written(value: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


CASES = ["(415) 555-2671", "+1 415 555 2671", "415.555.2671", "1-415-555-2671", "+14155552671", " 4155552671 ",
         "0049 30 123456", "+49 (0)30 1234567", "030 1234567", "1-800-FLOWERS", "415-555-2671 x123",
         "+44 20 7946 0958", "020 7946 0958", "(+1) 415/555/2671", "00 1 415 555 2671", "555-2671", "12", "+"]


@pytest.mark.parametrize("region", ["US", "DE", "GB"])
@pytest.mark.parametrize("value", CASES)
def test_known_formats(value, region):
    assert normalize_phone(value, region=region) == _parsed_as_written(value, region)


def test_formats_of_one_number_agree():
    forms = ["(415) 555-2671", "+1 415 555 2671", "415.555.2671", "1-415-555-2671", "+14155552671"]
    assert {normalize_phone(v, region="US") for v in forms} == {"+14155552671"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 +-.()/x", min_size=1, max_size=24), st.sampled_from(["US", "DE", "FR"]))
def test_any_digits_and_punctuation(value, region):
    assert normalize_phone(value, region=region) == _parsed_as_written(value, region)
