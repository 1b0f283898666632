"""Export parcels in a world WITH lot-to-lot variation (issue 12, item 2; ``make bench``).

``bench_parcels`` draws every reference lot and every export lot from its site's fixed density. Real
lots of one site differ (pit, depth, season), and the parcel layer claims to absorb that: its tempering,
its "mixed" null and its unknown-origin null are calibrated on held-out reference LOTS. This benchmark
checks the claim where it matters: the SYNTHETIC reference set is drawn with a lot effect (``lot_sd``:
every lot's centres move by that many spreads and its category shares scatter around the site's; an
estimate, no published figure), the model is trained on it as ``make demo`` trains, and fresh export
parcels are made of NEW lots with the same variation. Printed (never asserted), for ``lot_sd`` 0.15 and
0.3, with binomial standard errors and the issue's targets:

- genuine declared-zone parcels (one site or several in Dirichlet shares), 25 to 5,000 stones:
  "consistent" (>= 0.95 at >= 100 stones) and any flag (<= 0.03 at every size);
- CAR-East parcels declared CAR-West: flagged (>= 0.99 at >= 50 stones);
- 15% and 30% CAR-East top-ups at 400 and 1,500 stones: detected; foreign-fraction MAE and 90% interval
  coverage (information: bench_parcels holds the oracle comparison).

Usage: ``python benchmarks/bench_lots.py [--quick] [--lot-sd 0.3 ...]``. Exit 0 unless something crashes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _checks import binomial_se as _se
from _checks import print_checks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from footprint.model import train_frames  # noqa: E402
from footprint.synth import generate_reference, load_params  # noqa: E402
from footprint.synth._export import generate_export_parcel  # noqa: E402

FLAGS = ("mixed", "inconsistent", "unknown_origin")
GENUINE = ((25, 80), (50, 80), (100, 80), (400, 60), (1500, 24), (5000, 10))
WEST, EAST = "CAR-West", "CAR-East"


def _assess(model, params, rng, zone: str, size: int, count: int, declared: str, lot_sd: float,
            **kw) -> tuple[pd.DataFrame, np.ndarray]:
    """Draw ``count`` export parcels of ``size`` stones from new lots and assess them."""
    frames, truth = [], []
    for k in range(count):
        stones, t = generate_export_parcel(params, zone, size, rng, lot_sd=lot_sd, **kw)
        frames.append(stones.drop(columns=["zone", "site"]).assign(
            parcel_id=f"L{k:05d}", sample_id=[f"L{k:05d}-{i}" for i in range(len(stones))]))
        truth.append(t["foreign_fraction"])
    res, _ = model.assess_batch(pd.concat(frames, ignore_index=True), declared_zone=declared,
                                per_stone=False)
    order = [f"L{k:05d}" for k in range(count)]
    return res.set_index("parcel_id").loc[order].reset_index(), np.asarray(truth, dtype=float)


def _world(lot_sd: float, scale: float, checks: list[tuple[str, float, str, bool]]) -> None:
    params = load_params()
    weights = {f"{s.zone}/{s.site}": s.weight for s in params.sites if s.reference}
    ref = generate_reference(params, seed=0, lot_sd=lot_sd)
    start = time.perf_counter()
    model = train_frames(ref, config={"site_weights": weights}, seed=0)
    cal = model.parcel
    print(f"\n== lot_sd {lot_sd:g}: SYNTHETIC reference of {len(ref)} stones with lot effects, trained in "
          f"{time.perf_counter() - start:.0f} s; tempering tau0 {cal.tau0:.3f} rho {cal.rho:.4f}, "
          f"interval scale {cal.interval_scale:.2f}", flush=True)
    rng = np.random.default_rng(77)
    print("genuine export parcels from new lots (both zones declared truthfully):")
    for size, count in GENUINE:
        count = max(8, int(count * scale)) // 2
        parts = [_assess(model, params, rng, zone, size, count, zone, lot_sd)[0] for zone in (WEST, EAST)]
        res = pd.concat(parts, ignore_index=True)
        n = len(res)
        cons = float((res["verdict"] == "consistent").mean())
        flag = float(res["verdict"].isin(FLAGS).mean())
        print(f"  {size:>5} stones (n={n}): consistent {cons:.3f} (se {_se(cons, n):.3f}), "
              f"any flag {flag:.3f} "
              f"(se {_se(flag, n):.3f}); {res['verdict'].value_counts().to_dict()}")
        if size >= 100:
            checks.append((f"lot_sd {lot_sd:g}: genuine consistent at {size}", cons, ">= 0.95", cons >= 0.95))
        checks.append((f"lot_sd {lot_sd:g}: genuine any flag at {size}", flag, "<= 0.03", flag <= 0.03))
    print("CAR-East parcels declared CAR-West:")
    for size in (50, 400):
        res, _ = _assess(model, params, rng, EAST, size, max(8, int(60 * scale)), WEST, lot_sd)
        flag = float(res["verdict"].isin(FLAGS).mean())
        print(f"  {size:>5}: flagged {flag:.3f} (n={len(res)}); {res['verdict'].value_counts().to_dict()}")
        checks.append((f"lot_sd {lot_sd:g}: other zone flagged at {size}", flag, ">= 0.99", flag >= 0.99))
    print("CAR-East top-ups in CAR-West parcels:")
    for size in (400, 1500):
        for frac in (0.15, 0.30):
            count = max(8, int((40 if size < 1000 else 20) * scale))
            res, truth = _assess(model, params, rng, WEST, size, count, WEST, lot_sd, foreign_zone=EAST,
                                 foreign_fraction=frac)
            det = float(res["verdict"].isin(FLAGS).mean())
            mae = float(np.mean(np.abs(res["foreign_fraction"].to_numpy(float) - truth)))
            cover = float(np.mean((res["foreign_fraction_lo"].to_numpy(float) <= truth)
                                  & (truth <= res["foreign_fraction_hi"].to_numpy(float))))
            print(f"  {size:>5} stones, {frac:.0%}: detected {det:.3f} (se {_se(det, count):.3f}); "
                  "fraction MAE "
                  f"{mae:.3f}; 90% interval covers {cover:.3f} (n={count})")
            checks.append((f"lot_sd {lot_sd:g}: top-up {frac:.0%} at {size} detected", det, ">= 0.90",
                           det >= 0.90))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer parcels (a smoke run)")
    parser.add_argument("--lot-sd", type=float, nargs="+", default=[0.15, 0.3])
    args = parser.parse_args(argv)
    checks: list[tuple[str, float, str, bool]] = []
    for lot_sd in args.lot_sd:
        _world(lot_sd, 0.25 if args.quick else 1.0, checks)
    print_checks("\ntarget checks (SYNTHETIC, lot-to-lot variation in the reference and in the exports):",
                 checks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
