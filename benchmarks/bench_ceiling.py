"""Bayes ceilings of the SYNTHETIC generator (stone level; parcels of 5, 10, 25, 50).

These are the best figures any model can reach on the bundled synthetic data
(equal zone priors, site-aware parcel likelihoods from the exact density); the
model benchmarks compare against them. Baselines measured in the same run:

- the naive parcel rule that multiplies zone-level stone marginals (ignores
  that a parcel's stones share a site): ratio of its log loss / Cllr to the
  ceiling's (> 1 means the naive rule is worse);
- a HistGradientBoosting stone classifier fitted on fresh samples (stone level):
  ratio of its accuracy to the ceiling's (< 1 means below the ceiling);
- speed: stones scored per second by the exact density, as a ratio to stones
  drawn per second by the sampler.

Usage: ``python benchmarks/bench_ceiling.py [--n-stones N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from footprint.synth import ExactDensity, load_params, score_posteriors

SIZES = (1, 5, 10, 25, 50)


def _hgb_stone_accuracy(density: ExactDensity, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.preprocessing import OrdinalEncoder

    rng = np.random.default_rng(seed + 1)
    train, y_train = density.sample_parcels(30_000, 1, rng)
    test, y_test = density.sample_parcels(30_000, 1, rng)
    cats = ["sieve_class", "colour", "morphology", "quality", "radiation_spots", "fluorescence"]
    nums = ["mass_ct", "resorption", "abrasion", "n_total_ppm", "n_b_percent", "platelet_area_cm2",
            "h3107_area_cm2", "d13c_permil"]
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                         encoded_missing_value=np.nan)

    def matrix(frame, fit: bool) -> np.ndarray:
        cat = frame[cats].astype(object).where(frame[cats].notna(), np.nan)
        codes = enc.fit_transform(cat) if fit else enc.transform(cat)
        num = np.column_stack([frame[c].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                               for c in nums])
        coat = frame["coating"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        return np.column_stack([num, coat, codes])

    x_train, x_test = matrix(train, True), matrix(test, False)
    mask = np.r_[np.zeros(len(nums) + 1, bool), np.ones(len(cats), bool)]
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed, max_iter=300)
    model.fit(x_train, y_train)
    return float(np.mean(model.predict(x_test) == y_test))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stones", type=int, default=200_000, help="Monte Carlo stones per size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    params = load_params()
    density = ExactDensity(params)
    print(f"SYNTHETIC generator, params sha256 {params.sha256[:16]}; zones {density.zones}; equal priors; "
          f"seed {args.seed}; {args.n_stones} stones per size")
    print(f"{'size':>5} {'parcels':>8} {'accuracy':>9} {'+-se':>7} {'logloss':>8} {'Cllr':>7}"
          f" | naive: {'acc':>6} {'logloss':>8} {'Cllr':>7} {'LL ratio':>9} {'Cllr ratio':>10}")
    rng = np.random.default_rng(args.seed)
    for size in SIZES:
        n_parcels = max(2000, args.n_stones // size)
        stones, truth = density.sample_parcels(n_parcels, size, rng)
        index = np.arange(n_parcels)
        aware = score_posteriors(density.log_p_parcel_zone(stones).reindex(index).to_numpy(), truth)
        naive = score_posteriors(density.log_p_parcel_zone(stones, site_aware=False).reindex(index)
                                 .to_numpy(), truth)
        label = "stone" if size == 1 else str(size)
        print(f"{label:>5} {n_parcels:>8} {aware['accuracy']:>9.4f} {aware['accuracy_se']:>7.4f} "
              f"{aware['log_loss']:>8.4f} {aware['cllr']:>7.4f} | {naive['accuracy']:>12.4f} "
              f"{naive['log_loss']:>8.4f} {naive['cllr']:>7.4f} "
              f"{naive['log_loss'] / max(aware['log_loss'], 1e-12):>9.2f} "
              f"{naive['cllr'] / max(aware['cllr'], 1e-12):>10.2f}")

    # stone level: a fitted model against the ceiling
    ceiling = density.bayes_ceiling(parcel_sizes=(1,), n_stones=60_000, seed=args.seed + 7)["sizes"][1]
    hgb = _hgb_stone_accuracy(density, args.seed)
    print(f"stone accuracy: HistGradientBoosting {hgb:.4f} vs ceiling {ceiling['accuracy']:.4f} "
          f"(ratio {hgb / ceiling['accuracy']:.3f})")

    # speed: exact density scoring against sampling (same stones)
    n = 100_000
    site = params.zone_sites("CAR-West")[0]
    from footprint.synth._generate import apply_missingness, sample_site_stones

    start = time.perf_counter()
    stones = apply_missingness(sample_site_stones(site, params, n, np.random.default_rng(1)), params,
                               np.random.default_rng(2))
    t_sample = time.perf_counter() - start
    start = time.perf_counter()
    density.log_p_stone_site(stones)
    t_score = time.perf_counter() - start
    print(f"speed: sample {n / t_sample:,.0f} stones/s, exact density {n / t_score:,.0f} stones/s x "
          f"{len(density.sites)} sites (ratio score/sample {t_sample / t_score:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
