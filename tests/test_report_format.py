"""How scripts/report.py writes numbers in its tables and headline. The emulator test compares the
page's text on BigQuery and DuckDB, whose float sums differ in the last bits: a half (18.95, a
position-based attribution share of 0.45) must show the same from either side of it."""

import pytest

from conftest import load_script

report = load_script("report")


@pytest.mark.parametrize("value", [18.95, 18.949999999999996, 18.950000000000003])
def test_a_half_rounds_up_from_either_side_of_its_float(value):
    assert report._num(value, 1) == "19.0"
    assert report._usd(value * 100) == "$1,895"
    assert report._pct(value / 100) == "19.0%"


@pytest.mark.parametrize(
    "value, decimals, shown",
    [(0.45, 1, "0.5"), (0.4499, 1, "0.4"), (2.5, 0, "3"), (1234567.891, 1, "1,234,567.9"), (-1.25, 1, "-1.3"),
     (-0.0001, 1, "0.0"), (0.0, 0, "0")],
)
def test_numbers_keep_their_places_and_thousands_separators(value, decimals, shown):
    assert report._num(value, decimals) == shown


def test_money_puts_the_sign_before_the_dollar_and_no_minus_on_zero():
    assert report._usd(-1500.5) == "-$1,501"
    assert report._usd(-1500.5, 2) == "-$1,500.50"
    assert report._usd(-0.4) == "$0"
    assert report._usd_short(-1500.5) == "-$1.50k"
    assert report._usd_short(2_345_000) == "$2.35M"
    assert report._usd_short(999.994) == "$999.99"


def test_missing_values_show_a_dash():
    for fmt in (report._num, report._usd, report._pct):
        assert fmt(None) == "—" and fmt(float("nan")) == "—"
