"""The command line's number types: the forms a person types are read exactly; everything else is refused by range."""

from __future__ import annotations

import argparse

import pytest

from qlatent.argtypes import real_number, whole_number


@pytest.mark.parametrize(("text", "value"), [("7", 7), (" 7 ", 7), ("1e6", 1_000_000), ("1E6", 1_000_000),
                                             ("2.5e3", 2500), ("1_000_000", 1_000_000), ("4096", 4096),
                                             ("1.0", 1), ("9223372036854775807", 2**63 - 1)])
def test_whole_numbers_as_typed(text, value):
    parsed = whole_number(1, 2**63 - 1)(text)
    assert parsed == value and type(parsed) is int


@pytest.mark.parametrize("text", ["0", "1.5", "2.55e1", "-1", "+1", "1_0", "10_00", "1e-3", "nan", "inf", "١",
                                  "", "1e99999", "9223372036854775808", "0x10"])
def test_other_forms_and_values_out_of_range_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be a whole number in \[1, "):
        whole_number(1, 2**63 - 1)(text)


def test_an_unbounded_whole_number_says_its_minimum():
    assert whole_number(0)("0") == 0
    with pytest.raises(argparse.ArgumentTypeError, match="must be a whole number >= 2, got '1'"):
        whole_number(2)("1")


@pytest.mark.parametrize(("parse", "text", "message"), [
    (real_number(0, 1), "1.5", "must be a number in [0, 1], got '1.5'"),
    (real_number(0, 1), "nan", "must be a number in [0, 1], got 'nan'"),
    (real_number(0), "inf", "must be a number >= 0, got 'inf'"),
    (real_number(0), "x", "must be a number >= 0, got 'x'"),
    # float() took these: another script's digit, grouping, a value that rounds to zero
    (real_number(0, 1), "\u0661", "must be a number in [0, 1], got '\u0661'"),
    (real_number(0), "1_0", "must be a number >= 0, got '1_0'"),
    (real_number(0, 1), "1e-400", "must be a number in [0, 1], got '1e-400'")])
def test_real_numbers_are_finite_and_in_range(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse(text)
    assert str(error.value) == message
    assert real_number(0, 1)("0.25") == 0.25


@pytest.mark.parametrize(("text", "value"), [("-0", 0.0), ("-0.0e5", 0.0), (".5", 0.5), ("1.", 1.0), ("2.5E-1", 0.25),
                                             (" +1 ", 1.0)])
def test_real_numbers_as_typed(text, value):
    parsed = real_number(0, 1)(text)
    assert parsed == value and str(parsed) == str(value)  # -0 reads as 0.0, not -0.0 (a second cache entry)


def test_every_whole_number_has_a_ceiling():
    # a seed of 10^4300 passed and failed later on Python's integer-string limit, naming no option
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be a whole number >= 0, got '1e4300'"):
        whole_number(0)("1e4300")
    assert whole_number(0)(str(2**63 - 1)) == 2**63 - 1
