"""footprint._text: header squashing and delimiter sniffing, shared by every reader."""

from __future__ import annotations

import pytest

from footprint._text import sniff_delimiter, squash


@pytest.mark.parametrize("raw, squashed", [
    ("Parcel_ID ", "parcel id"), ("parcel-no.", "parcel no"), ("  Weight  (ct)", "weight (ct)"), ("", ""),
])
def test_squash(raw, squashed):
    assert squash(raw) == squashed


@pytest.mark.parametrize("header, delimiter", [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("single", ","), ("a;b,c;d", ";"),
])
def test_sniff_delimiter_picks_the_most_frequent(header, delimiter):
    assert sniff_delimiter(header) == delimiter
