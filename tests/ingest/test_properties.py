"""Property tests: whatever spelling a lab uses for a valid value, it lands as the canonical one."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from footprint._schema import FIELDS
from footprint.ingest import read_stones_table

CATEGORIES = {f.name: f.vocabulary for f in FIELDS if f.kind == "category"}


def _respell(word: str, data) -> str:
    """Random case and '_' -> ' ' or '-' variants of a vocabulary word, padded with blanks."""
    out = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in word)
    out = out.replace("_", data.draw(st.sampled_from(["_", " ", "-"])))
    return data.draw(st.sampled_from(["", " "])) + out + data.draw(st.sampled_from(["", "  "]))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_vocabulary_spellings_and_numbers_round_trip(tmp_path_factory, data):
    field = data.draw(st.sampled_from(sorted(CATEGORIES)))
    words = data.draw(st.lists(st.sampled_from(CATEGORIES[field]), min_size=1, max_size=6))
    masses = data.draw(st.lists(st.floats(min_value=0.001, max_value=500, allow_nan=False),
                                min_size=len(words), max_size=len(words)))
    lines = ["sample_id,zone,mass_ct," + field]
    for i, (w, m) in enumerate(zip(words, masses, strict=True)):
        spelled = _respell(w, data)
        if "," in spelled or spelled.strip() != spelled.strip():
            spelled = spelled.strip()
        lines.append(f"S{i},CAR-West,{m!r},{spelled}")
    path = tmp_path_factory.mktemp("prop") / "stones.csv"
    path.write_text("\n".join(lines) + "\n")
    stones, _ = read_stones_table(path)
    assert stones[field].tolist() == words
    for got, want in zip(stones["mass_ct"], masses, strict=True):
        assert got == want or math.isclose(got, want, rel_tol=1e-15)
