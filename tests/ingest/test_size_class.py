"""Size-class systems (DTC sieves, mm sieves, grainers, carat classes) and their conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from footprint.exceptions import InputError, SchemaError
from footprint.ingest import (
    SIZE_SYSTEMS,
    convert_size_class,
    parse_size_class,
    sieve_carats,
    sieve_for_carats,
)
from footprint.ingest._size_class import size_table


@pytest.mark.parametrize(
    ("raw", "label", "system"),
    [
        ("dtc:+11", "dtc:+11", "dtc"),
        ("+11", "dtc:+11", "dtc"),
        ("DTC +6.5", "dtc:+6.5", "dtc"),
        ("mm:2.5", "mm:2.50", "mm"),
        ("2.60 mm", "mm:2.60", "mm"),
        ("gr:4", "gr:4", "gr"),
        ("4 gr", "gr:4", "gr"),
        ("2.5 grainer", "gr:2.5", "gr"),
        ("ct:1-2", "ct:1-2", "ct"),
        ("1-2 ct", "ct:1-2", "ct"),
        ("ct:0.50-1", "ct:0.5-1", "ct"),
        ("ct:10+", "ct:10+", "ct"),
    ],
)
def test_every_system_parses_and_normalises(raw: str, label: str, system: str) -> None:
    size = parse_size_class(raw)
    assert (size.label, size.system) == (label, system)
    assert size.ct_low <= size.ct_nominal <= size.ct_high
    assert set(SIZE_SYSTEMS) == {"dtc", "mm", "gr", "ct"}


def test_grainers_and_carat_classes_are_exact() -> None:
    four = parse_size_class("gr:4")
    assert (four.ct_low, four.ct_nominal, four.ct_high) == (0.875, 1.0, 1.125)  # 1 gr = 0.25 ct
    one_two = parse_size_class("ct:1-2")
    assert (one_two.ct_low, one_two.ct_nominal, one_two.ct_high) == (1.0, 1.5, 2.0)
    open_class = parse_size_class("ct:10+")
    assert open_class.ct_low == 10 and math.isinf(open_class.ct_high)
    assert four.sieve is None and parse_size_class("+11").sieve == "dtc:+11"


def test_sieve_carats_follow_the_table_and_grow_with_the_sieve() -> None:
    table = size_table()
    for n, low, nominal, high in zip(
        table["dtc_sieve"], table["ct_low"], table["ct_nominal"], table["ct_high"], strict=True
    ):
        assert sieve_carats(f"dtc:+{int(n)}") == pytest.approx((low, nominal, high))
    assert np.all(np.diff(table["ct_nominal"]) > 0)
    # Sieve k's upper bound is sieve k+1's lower bound: the classes tile the carat axis.
    assert np.allclose(table["ct_high"][:-1], table["ct_low"][1:])
    # An mm sieve of the same aperture as +11 holds the same stones.
    assert sieve_carats("mm:2.60") == pytest.approx(sieve_carats("dtc:+11"))


def test_carats_to_sieve_and_back() -> None:
    for n in (1, 5, 11, 17, 23):
        low, nominal, high = sieve_carats(f"dtc:+{n}")
        assert sieve_for_carats(nominal) == f"dtc:+{n}"
        assert sieve_for_carats(low * 1.0001) == f"dtc:+{n}"
    assert sieve_for_carats(1e-4) == "dtc:+1"  # below the smallest sieve: kept on +1
    assert sieve_for_carats(50.0) == "dtc:+23"
    assert sieve_for_carats(sieve_carats("dtc:+11")[1], "mm") == "mm:2.60"
    with pytest.raises(SchemaError):
        sieve_for_carats(0.0)


@pytest.mark.parametrize(
    ("raw", "system", "expected"),
    [
        ("dtc:+11", "mm", "mm:2.60"),
        ("mm:2.60", "dtc", "dtc:+11"),
        ("mm:2.50", "dtc", "dtc:+10.5"),
        ("gr:4", "ct", "ct:0.875-1.125"),
        ("ct:0.875-1.125", "gr", "gr:4"),
        ("ct:1-2", "gr", "gr:6"),
        ("gr:4", "dtc", "dtc:+21"),
        ("dtc:+21", "gr", "gr:4"),
        ("ct:10+", "ct", "ct:10+"),
    ],
)
def test_conversions_between_systems(raw: str, system: str, expected: str) -> None:
    assert convert_size_class(raw, system) == expected


def test_round_trips_through_carats_land_on_the_same_sieve() -> None:
    for n in range(1, 24):
        label = f"dtc:+{n}"
        assert convert_size_class(convert_size_class(label, "ct"), "dtc") == label
        assert convert_size_class(convert_size_class(label, "mm"), "dtc") == label


@pytest.mark.parametrize("bad", ["", "xx", "dtc:+31", "ct:2-1", "ct:abc", "gr:0", "mm:0.1", "-3"])
def test_bad_size_classes_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError):
        parse_size_class(bad)
