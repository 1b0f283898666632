"""Each check: a hand-made case that must be flagged and a near miss that must not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footprint.stats import read_production, read_trade, run_checks

from .conftest import quarters


def _pair_rows(a: str, b: str, periods, ct, usd, certs, imp_ct=None, imp_usd=None, imp_certs=None):
    rows = []
    for i, p in enumerate(periods):
        rows.append((a, p, "export", b, ct[i], usd[i], certs[i]))
        rows.append((b, p, "import", a, (imp_ct or ct)[i], (imp_usd or usd)[i], (imp_certs or certs)[i]))
    return rows


def _steady(n: int, level: float, seed: int, sd: float = 0.03) -> list[float]:
    rng = np.random.default_rng(seed)
    return [round(level * float(np.exp(rng.normal(0, sd))), 1) for _ in range(n)]


def _checks(table, rows, check, prod_rows=None):
    trade = read_trade(table("trade.csv", rows))
    prod = read_production(table("prod.csv", prod_rows, kind="prod")) if prod_rows else None
    return run_checks(prod, trade, checks=[check])


def _base(n=12):
    periods = quarters(2018, n)
    ct = _steady(n, 20_000, 1)
    usd = [c * 200 for c in ct]
    certs = [4] * n
    return periods, ct, usd, certs


def test_mirror_flags_an_import_record_at_a_third(table) -> None:
    periods, ct, usd, certs = _base()
    imp_ct, imp_usd = list(ct), list(usd)
    imp_ct[6], imp_usd[6] = ct[6] / 3, usd[6] / 3
    rows = _pair_rows("CAF", "ARE", periods, ct, usd, certs, imp_ct, imp_usd)
    rows += _pair_rows("BWA", "EUR", periods, _steady(12, 5e5, 2), [5e7] * 12, [9] * 12)
    found = _checks(table, rows, "mirror")
    assert list(zip(found["participant"], found["period"], found["partner"], strict=True)) == [
        ("CAF", periods[6], "ARE")
    ]
    assert found["observed"].iloc[0] == pytest.approx(ct[6], rel=1e-3)


def test_mirror_near_miss_shipment_recorded_next_quarter_and_small_differences(table) -> None:
    periods, ct, usd, certs = _base()
    imp_ct, imp_usd, imp_certs = list(ct), [u * 1.06 for u in usd], list(certs)
    moved = ct[6] * 0.6  # a large shipment certified at the end of Q3, recorded by the importer in Q4
    imp_ct[6] -= moved
    imp_ct[7] += moved
    imp_usd[6] -= moved * 200 * 1.06
    imp_usd[7] += moved * 200 * 1.06
    imp_certs[6] -= 2
    imp_certs[7] += 2
    rows = _pair_rows("CAF", "ARE", periods, ct, usd, certs, imp_ct, imp_usd, imp_certs)
    assert _checks(table, rows, "mirror").empty
    assert _checks(table, rows, "certificates").empty


def test_unit_value_flags_values_tripled_by_one_side_only(table) -> None:
    periods, ct, usd, certs = _base()
    exp_usd = list(usd)
    exp_usd[6] *= 3
    rows = [
        r
        for i, p in enumerate(periods)
        for r in (
            ("CAF", p, "export", "ARE", ct[i], exp_usd[i], certs[i]),
            ("ARE", p, "import", "CAF", ct[i], usd[i], certs[i]),
        )
    ]
    found = _checks(table, rows, "unit_value")
    flagged = found[(found["participant"] == "CAF")]
    assert list(flagged["period"]) == [periods[6]] and flagged["flow"].iloc[0] == "export"
    assert flagged["observed"].iloc[0] == pytest.approx(600, rel=0.05)


def test_unit_value_near_misses_a_small_move_and_a_move_partners_report_too(table) -> None:
    periods, ct, usd, certs = _base()
    both = list(usd)
    both[6] *= 3  # both sides report the higher value: an assortment change, not a reporting anomaly
    small = list(usd)
    small[6] *= 1.2
    for values in (both, small):
        rows = _pair_rows("CAF", "ARE", periods, ct, values, certs)
        assert _checks(table, rows, "unit_value").empty


def _balance_case(table, export_per_quarter: float):
    prod_rows = [("BWA", f"{y}-H{h}", 100_000, 2e7) for y in (2019, 2020, 2021) for h in (1, 2)]
    periods = quarters(2019, 12)
    exports = [45_000.0] * 12
    exports[4:8] = [export_per_quarter] * 4  # 2020
    rows = _pair_rows("BWA", "EUR", periods, exports, [e * 200 for e in exports], [3] * 12)
    return _checks(table, rows, "balance", prod_rows)


def test_balance_flags_exports_well_beyond_production(table) -> None:
    found = _balance_case(table, 80_000)  # 320,000 ct exported against 200,000 ct produced
    assert list(zip(found["participant"], found["period"], strict=True)) == [("BWA", "2020")]
    assert found["score"].iloc[0] == pytest.approx(0.6, abs=0.01)
    assert found["severity"].iloc[0] == "medium"


def test_balance_near_miss_within_the_stock_tolerance(table) -> None:
    assert _balance_case(table, 60_000).empty  # 240,000 against 200,000: within 25 % stock tolerance


def _jump_prod(values):
    periods = [f"{2014 + i // 2}-H{i % 2 + 1}" for i in range(len(values))]
    return [("SLE", p, v, v * 200) for p, v in zip(periods, values, strict=True)], periods


def test_jump_flags_a_production_level_shift(table) -> None:
    level = _steady(14, 300_000, 3, sd=0.05)
    values = level[:8] + [v * 3 for v in level[8:]]
    prod_rows, periods = _jump_prod(values)
    found = run_checks(read_production(table("prod.csv", prod_rows, kind="prod")), None, checks=["jump"])
    assert list(found["period"]) == [periods[8]] and found["flow"].iloc[0] == "production"


def test_jump_near_miss_a_thirty_percent_blip(table) -> None:
    values = _steady(14, 300_000, 3, sd=0.05)
    values[8] *= 1.3
    prod_rows, _ = _jump_prod(values)
    assert run_checks(read_production(table("prod.csv", prod_rows, kind="prod")), None, checks=["jump"]).empty


def test_missing_flags_a_silent_quarter_and_not_a_covering_year_or_a_tiny_shipment(table) -> None:
    periods, ct, usd, certs = _base(8)
    rows = _pair_rows("CAF", "ARE", periods, ct, usd, certs)
    gone = [r for r in rows if not (r[0] == "ARE" and r[1] == periods[5])]  # ARE silent in that quarter
    found = _checks(table, gone, "missing")
    assert list(zip(found["participant"], found["period"], found["partner"], strict=True)) == [
        ("ARE", periods[5], "CAF")
    ]
    assert found["severity"].iloc[0] == "high"
    # near misses: ARE reports the whole year instead of quarters; or the unmatched shipment is tiny
    yearly = [r for r in rows if r[0] != "ARE"] + [
        ("ARE", "2018", "import", "CAF", sum(ct[:4]), sum(usd[:4]), 16),
        ("ARE", "2019", "import", "CAF", sum(ct[4:]), sum(usd[4:]), 16),
    ]
    assert _checks(table, yearly, "missing").empty
    tiny = rows + [("CAF", "2020-Q1", "export", "IND", 40, 8000, 1)]
    assert _checks(table, tiny, "missing").empty


def test_certificates_flags_zero_and_disagreeing_counts(table) -> None:
    periods, ct, usd, certs = _base()
    exp_certs = list(certs)
    exp_certs[3] = 0
    exp_certs[8] = 16
    rows = [
        r
        for i, p in enumerate(periods)
        for r in (
            ("CAF", p, "export", "ARE", ct[i], usd[i], exp_certs[i]),
            ("ARE", p, "import", "CAF", ct[i], usd[i], certs[i]),
        )
    ]
    found = _checks(table, rows, "certificates")
    assert set(zip(found["participant"], found["period"], strict=True)) == {
        ("CAF", periods[3]),
        ("CAF", periods[8]),
    }
    assert found.set_index("period").loc[periods[3], "severity"] == "high"


def test_findings_table_has_the_issue_columns_and_sorted_severity(table) -> None:
    periods, ct, usd, certs = _base()
    exp_certs = list(certs)
    exp_certs[3] = 0
    rows = _pair_rows("CAF", "ARE", periods, ct, usd, exp_certs)
    found = run_checks(None, read_trade(table("t.csv", rows)))
    assert list(found.columns[:9]) == [
        "participant",
        "period",
        "check",
        "partner",
        "observed",
        "expected",
        "score",
        "severity",
        "detail",
    ]
    assert set(found.attrs["counts"]) == {
        "mirror",
        "unit_value",
        "balance",
        "jump",
        "missing",
        "certificates",
    }
    order = found["severity"].map({"high": 0, "medium": 1, "low": 2})
    assert order.is_monotonic_increasing
    assert isinstance(found, pd.DataFrame)
