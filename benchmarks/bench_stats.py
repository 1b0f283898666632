"""KP statistics screening (issue 16): recall and precision per check, clean flag rate, scaling.

1. SYNTHETIC sets with anomalies injected at known places (``footprint synth kp-stats``: about 40
   participants, 10 years; several seeds): per check, recall of the injected anomalies (target >= 0.9)
   and precision of the findings (target >= 0.8). A finding is a true positive when ``truth.csv`` lists
   it, either as the injection's primary finding or as a secondary finding the injection legitimately
   causes (e.g. a tripled export value also makes the partners' mirror figures disagree). Pair checks
   (mirror, certificates) match on the unordered pair.
2. The same sets with nothing injected: findings per participant-year (false-positive rate).
3. Scaling: 200 participants x 20 years of quarterly trade by partner (about 3x the bundled mix's
   partners per participant), checked end to end (read + validate + every check) against the time
   pandas takes to read the same two files, in the same run (target: under 10x).

Run: ``python benchmarks/bench_stats.py`` (``make bench`` runs it); ``--quick`` uses fewer seeds.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from footprint.stats import CHECKS, read_production, read_trade, run_checks
from footprint.synth import write_kp_stats

SEEDS = (0, 1, 2) if "--quick" not in sys.argv else (0,)
RECALL_TARGET, PRECISION_TARGET, SCALING_TARGET = 0.9, 0.8, 10.0


def _key(check: str, participant: str, period: str, partner: str) -> tuple:
    if check in ("mirror", "certificates"):
        return (check, str(period), frozenset((participant, partner)))
    return (check, str(period), participant)


def _score(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    prod, trade = read_production(folder / "PROD.csv"), read_trade(folder / "TRADE.csv")
    found = run_checks(prod, trade)
    truth = pd.read_csv(folder / "truth.csv", comment="#", keep_default_na=False, dtype=str)
    return {"prod": prod, "trade": trade}, found, truth


def accuracy(tmp: Path) -> bool:
    tally = {c: {"primary": 0, "hit": 0, "found": 0, "true": 0} for c in CHECKS}
    for seed in SEEDS:
        folder = tmp / f"injected-{seed}"
        write_kp_stats(folder, seed=seed, n_participants=40, n_years=10, per_check=10)
        _, found, truth = _score(folder)
        listed = {_key(r.check, r.participant, r.period, r.partner) for r in truth.itertuples()}
        got = {_key(r.check, r.participant, r.period, r.partner) for r in found.itertuples()}
        for r in truth[truth["role"] == "primary"].itertuples():
            tally[r.check]["primary"] += 1
            tally[r.check]["hit"] += _key(r.check, r.participant, r.period, r.partner) in got
        for k in got:
            tally[k[0]]["found"] += 1
            tally[k[0]]["true"] += k in listed
    print(f"injected anomalies, {len(SEEDS)} SYNTHETIC set(s) of 40 participants x 10 years (seeds {SEEDS})")
    print(f"{'check':<13} {'injected':>8} {'recall':>7} {'findings':>8} {'precision':>9}  result")
    ok = True
    for check, t in tally.items():
        recall = t["hit"] / t["primary"] if t["primary"] else float("nan")
        precision = t["true"] / t["found"] if t["found"] else float("nan")
        passed = recall >= RECALL_TARGET and (precision >= PRECISION_TARGET or t["found"] == 0)
        ok &= passed
        print(
            f"{check:<13} {t['primary']:>8} {recall:>7.2f} {t['found']:>8} {precision:>9.2f}  "
            f"{'PASS' if passed else 'MISS'} (recall >= {RECALL_TARGET}, precision >= {PRECISION_TARGET})"
        )
    return ok


def clean_rate(tmp: Path) -> None:
    rows = []
    for seed in SEEDS:
        folder = tmp / f"clean-{seed}"
        write_kp_stats(folder, seed=seed, n_participants=40, n_years=10, inject=False)
        data, found, _ = _score(folder)
        participants = set(data["trade"]["participant"]) | set(data["prod"]["participant"])
        n_py = len(participants) * 10
        years = found["period"].astype(str).str[:4]
        flagged_py = len(set(zip(found["participant"], years, strict=True)))
        rows.append((seed, n_py, len(found), flagged_py, found["check"].value_counts().to_dict()))
    print("\nclean SYNTHETIC sets (nothing injected): false-positive rate")
    for seed, n_py, n_found, flagged_py, by in rows:
        print(
            f"  seed {seed}: {n_found} findings over {n_py} participant-years = {n_found / n_py:.3f} per "
            f"participant-year; {flagged_py / n_py:.1%} of participant-years flagged; by check {by}"
        )


def scaling(tmp: Path) -> bool:
    folder = tmp / "scale"
    info = write_kp_stats(folder, seed=7, n_participants=200, n_years=20, inject=False, spread=3.0)
    prod_path, trade_path = folder / "PROD.csv", folder / "TRADE.csv"
    import ruptures  # noqa: F401  (imported before timing, like pandas: both are fixed start-up costs)

    def pandas_read() -> None:
        pd.read_csv(prod_path, comment="#")
        pd.read_csv(trade_path, comment="#")

    def check() -> None:
        run_checks(read_production(prod_path), read_trade(trade_path))

    # interleaved, best of 5 each: on a shared machine the load moves between runs, and both
    # measurements should see the same conditions
    pandas_read()
    check()  # warm-up
    times: dict[str, list[float]] = {"pandas": [], "check": []}
    for _ in range(5):
        for name, fn in (("pandas", pandas_read), ("check", check)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    ratio = best["check"] / best["pandas"]
    passed = ratio < SCALING_TARGET
    print(
        f"\nscaling: {info['participants']} participants x 20 years, {info['trade_rows']:,} trade rows "
        f"(quarterly, by partner) + {info['production_rows']:,} production rows"
    )
    print(f"  pandas.read_csv of both files: {best['pandas']:.3f} s (baseline, best of 5 interleaved runs)")
    print(
        f"  footprint stats check (read, validate, all checks): {best['check']:.3f} s = {ratio:.1f}x "
        "the baseline  "
        f"{'PASS' if passed else 'MISS'} (target < {SCALING_TARGET:.0f}x)"
    )
    return passed


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        ok = accuracy(tmp)
        clean_rate(tmp)
        ok &= scaling(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
