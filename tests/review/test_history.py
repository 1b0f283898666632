"""Twelve SYNTHETIC months with drifts in known months: history flags exactly those, on both backends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from footprint.review import ControlRule, Register, control_charts, hellinger


@pytest.mark.slow
def test_history_flags_exactly_the_injected_drifts(register_url, twelve_months, add_month):
    from footprint.synth import generate_reference, load_params

    reference = generate_reference(load_params(), seed=1, lots_per_site=20, zones=("CAR-West",))
    with Register.open(register_url, create=True) as reg:
        reg.set_reference_footprint("CAR-West", reference["mass_ct"], source="SYNTHETIC reference, seed 1")
        for month in twelve_months["months"]:
            add_month(reg, month)
        history = reg.history()
        only_bravo = reg.history(exporter=twelve_months["drifts"][0]["exporter"])
    expected = {(d["exporter"], d["month"]): d["kind"] for d in twelve_months["drifts"]}
    got = {(f["exporter"], f["month"]): f["metrics"] for f in history["flagged"]}
    print(
        "\nSYNTHETIC months: drifts injected and months flagged by history (rule k = "
        f"{history['rule']['k']}, alpha = {history['rule']['alpha']})"
    )
    for series in history["series"]:
        for m in series["months"]:
            v = m["values"]
            mark = expected.get((series["exporter"], m["month"]), "")
            print(
                f"  {series['exporter'][:24]:<24} {m['month']} ct/stone {v['carats_per_stone']:.3f} "
                f"US$/ct {v['usd_per_ct']:7.1f} gem {v['gem_share']:.3f} size-dist {v['size_distance']:.3f} "
                f"foreign {v['foreign_fraction']:.3f} not-consistent {m['not_consistent']}/{m['n_parcels']} "
                f"flags {','.join(m['flags']) or '-'} {('<- injected ' + mark) if mark else ''}"
            )
    assert set(got) == set(expected), (got, expected)
    what = {"price_drop": "usd_per_ct", "size_shift": "size_distance", "top_up": "foreign_fraction"}
    for key, kind in expected.items():
        assert what[kind] in got[key] or (kind == "top_up" and "verdicts" in got[key]), (key, got[key])
    # the price-drop month: US$/ct about 40 % under the exporter's centre
    bravo = only_bravo["series"]
    assert [s["exporter"] for s in bravo] == [twelve_months["drifts"][0]["exporter"]]
    drop = [m for m in bravo[0]["months"] if m["month"] == twelve_months["drifts"][0]["month"]][0]
    ratio = drop["values"]["usd_per_ct"] / drop["limits"]["usd_per_ct"]["centre"]
    assert 0.5 < ratio < 0.7
    assert history["synthetic"] is True


def _parcel(
    month: str, n_stones: int, carats: float, value: float, verdict: str = "consistent", **kw
) -> dict:
    base = {
        "exporter": "X",
        "month": month,
        "zone": "CAR-West",
        "declared_zone": "CAR-West",
        "n_stones": n_stones,
        "carats": carats,
        "value_usd": value,
        "carats_measured": False,
        "mass_sq_sum": None,
        "n_quality": None,
        "n_gem": None,
        "size_counts": None,
        "verdict": verdict,
        "foreign_fraction": 0.0,
        "foreign_fraction_lo": 0.0,
        "foreign_fraction_hi": 0.1,
        "synthetic": True,
    }
    return {**base, **kw}


def test_rule_uses_only_preceding_months_and_needs_a_baseline():
    rng = np.random.default_rng(0)
    parcels = []
    for k in range(8):
        for _ in range(3):
            price = 230 * math.exp(0.05 * rng.standard_normal()) * (0.6 if k == 6 else 1.0)
            parcels.append(_parcel(f"2024-{k + 1:02d}", 100, 25.0, 25.0 * price))
    out = control_charts(parcels, {}, ControlRule(k=4.5, min_months=4))
    months = out["series"][0]["months"]
    assert all(m["limits"] == {} for m in months[:4])  # fewer than 4 preceding months: no limits
    assert [m["month"] for m in months if m["flags"]] == ["2024-07"]
    assert months[6]["flags"] == ["usd_per_ct"]
    # the limits of a month do not depend on later months
    again = control_charts([p for p in parcels if p["month"] <= "2024-07"], {}, ControlRule(k=4.5))
    assert again["series"][0]["months"][6]["limits"] == months[6]["limits"]


def test_verdict_counts_use_an_exact_binomial_rule():
    parcels = [_parcel(f"2024-{k + 1:02d}", 100, 25.0, 5000.0) for k in range(6) for _ in range(4)]
    parcels += [_parcel("2024-07", 100, 25.0, 5000.0, verdict="mixed") for _ in range(3)]
    parcels += [_parcel("2024-07", 100, 25.0, 5000.0)]
    months = control_charts(parcels, {}, ControlRule())["series"][0]["months"]
    lim = months[6]["limits"]["verdicts"]
    assert lim["p0"] == pytest.approx(1 / 26)
    assert lim["tail_p"] == pytest.approx(4 * (1 / 26) ** 3 * (25 / 26) + (1 / 26) ** 4)
    assert "verdicts" in months[6]["flags"]


def test_hellinger_distance():
    assert hellinger([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)
    assert hellinger([1, 0], [0, 1]) == pytest.approx(1.0)
    assert math.isnan(hellinger([0, 0], [1, 1]))
