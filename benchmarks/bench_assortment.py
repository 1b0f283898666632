"""Benchmark assortment input and valuation (issue 14; ``make bench``).

Figures printed (never asserted), on SYNTHETIC export parcels
(``footprint.synth.generate_parcels``) and the bundled SYNTHETIC model
(``models/demo-synthetic``):

1. **Stones against their assortment.** Every parcel is assessed twice with
   ``FootprintModel.assess_batch``: one row per stone restricted to size class
   x quality x colour, and its assortment (one row per cell, ``weights`` =
   stones per cell). Printed side by side: rows, time, the largest difference
   of log10 LR, foreign fraction, unknown-origin p-value and posterior, and
   verdict agreement (target: identical evidence to 1e-9, same verdicts).
   Then the assortment with carats per cell against the stones with all their
   fields (information: how much the cell summary loses).
2. **25 % subsample.** For parcels of >= 400 stones, a random 25 % of the
   stones described (as an assortment with carats, as one without, and
   stone by stone with every field), against the full parcel: verdict
   agreement (target >= 95 %) with the sampling weight total / described
   carats (``assess_batch(sampling=...)``, what ``classify`` does with a
   parcels file's ``total_carats``: zone evidence scaled to the full parcel,
   tests on the described stones) and, for information, with the described
   stones' evidence alone. Where they differ: the full x subsample verdict
   table, agreement by truth kind (the oracle's beside it) and by verdict
   pair, and the exact-density oracle (the generator's site densities, the
   same mixture test, chi-bar-square p-value, no unknown-origin test; out-of-
   reference parcels left out) on the same stones. A full parcel's verdict
   is **clear-cut** when the oracle's full-parcel mixed statistic shows no
   foreign signal (p > 0.1) or one a 25 % subsample still finds with 95 %
   power (T >= 4 (z_alpha + z_0.95)^2); otherwise it is borderline (a
   quarter of the stones cannot be expected to reproduce it: lower power,
   not an error of the subsample path). Out-of-reference parcels are
   clear-cut when the full parcel's unknown-origin p is outside
   [alpha / 10, 10 alpha].
3. **Assortment-only genuine parcels.** The truthfully declared single-zone
   parcels described (a) stone by stone with every field, (b) by their
   assortment with carats (size class x quality x colour + mean mass), (c)
   by their assortment without carats: verdicts, share consistent, and the
   unknown-origin p-values' share below 0.01 / 0.05 (a genuine parcel should
   be consistent at the same rate whatever fields describe it).
4. **Valuation.** Parcels of >= 50 ct valued from their assortment against
   the SYNTHETIC price book (stones of 1.5 ct and more in the book's carat
   classes, as the trade sorts them by weight); "true" values priced stone by
   stone with the same book, on the stones with a mass, quality and colour.
   Declared values 30 % under or over the true value: share flagged
   (target >= 95 %); honest declared values (true x (1 + 0.1 e), e standard
   normal): share flagged (target <= 5 %).

``--quick`` uses fewer parcels (a smoke check); ``--model DIR`` another model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _checks import binomial_se  # noqa: E402

from footprint.ingest import sieve_for_carats  # noqa: E402
from footprint.model import FootprintModel  # noqa: E402
from footprint.model._parcel import foreign_profile, mixed_evidence, zone_evidence  # noqa: E402
from footprint.model._verdict import decide  # noqa: E402
from footprint.synth import ExactDensity, generate_parcels, load_params  # noqa: E402
from footprint.valuation import (  # noqa: E402
    read_price_book,
    synthetic_price_book_path,
    value_parcels,
)

FIELDS = ["sieve_class", "quality", "colour"]


def _sized(stones: pd.DataFrame) -> pd.DataFrame:
    """Stones with a size class: the reported sieve, else the DTC sieve of the mass; others dropped."""
    out = stones.copy()
    need = out["sieve_class"].isna() & out["mass_ct"].notna()
    out.loc[need, "sieve_class"] = [sieve_for_carats(float(m)) for m in out.loc[need, "mass_ct"]]
    return out[out["sieve_class"].notna()].reset_index(drop=True)


#: Carat classes for stones above the sieves (sorted by weight, as the trade does), the price book's.
CARAT_CLASSES = (
    (1.5, 3.0, "ct:1.5-3"),
    (3.0, 6.0, "ct:3-6"),
    (6.0, 12.0, "ct:6-12"),
    (12.0, np.inf, "ct:12+"),
)


def _cells(stones: pd.DataFrame, *, carats: bool, carat_classes: bool = False) -> pd.DataFrame:
    """The parcels' assortment: one row per parcel x size class x quality x colour.

    ``carat_classes``: stones of 1.5 ct and more go in carat classes rather than on the top sieve.
    """
    frame = stones[["parcel_id", *FIELDS, "mass_ct"]].copy()
    if carat_classes:
        for low, high, label in CARAT_CLASSES:
            frame.loc[(frame["mass_ct"] >= low) & (frame["mass_ct"] < high), "sieve_class"] = label
    for name in ("quality", "colour"):
        frame[name] = frame[name].astype(object).where(frame[name].notna(), "?")
    frame["no_mass"] = frame["mass_ct"].isna()
    cells = (
        frame.groupby(["parcel_id", *FIELDS], sort=False)
        .agg(n_stones=("mass_ct", "size"), carats=("mass_ct", "sum"), no_mass=("no_mass", "any"))
        .reset_index()
    )
    cells.loc[cells["no_mass"], "carats"] = np.nan
    for name in ("quality", "colour"):
        cells[name] = cells[name].where(cells[name] != "?", None)
    cells["mass_ct"] = cells["carats"] / cells["n_stones"] if carats else np.nan
    cells["size_class"] = cells["sieve_class"]
    cells["sample_id"] = [f"cell{i}" for i in range(len(cells))]
    return cells.drop(columns="no_mass")


class _Oracle:
    """The exact-density oracle: the generator's site densities in the same parcel mixture test.

    Its verdict: :func:`decide` with the untempered zone log10 LR, the mixed
    statistic's chi-bar-square p-value (``0.5 P(chi2_1 > T)``) and no
    unknown-origin test.
    """

    def __init__(self, model: FootprintModel, params, truth: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
        self.model = model
        self.exact = ExactDensity(params, zones=model.zones)
        index = {z: k for k, z in enumerate(model.zones)}
        self.site_zone = np.array([index[z] for z, _ in self.exact.sites])
        weight = np.asarray(self.exact.site_weights, dtype=float)
        self.log_weight = np.zeros(len(weight))
        for z in range(len(model.zones)):
            m = self.site_zone == z
            self.log_weight[m] = np.log(weight[m] / weight[m].sum())
        self.declared = {p: index.get(z, -1)
                         for p, z in zip(truth["parcel_id"], truth["declared_zone"], strict=True)}

    def verdicts(self, stones: pd.DataFrame) -> pd.DataFrame:
        frame = stones.sort_values("parcel_id", kind="stable")
        codes, ids = pd.factorize(frame["parcel_id"], sort=False)
        sizes = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        ll = self.exact.log_p_stone_site(frame)
        w = np.ones(len(ll))
        n_zones = len(self.model.zones)
        raw, _, shares, prepared = zone_evidence(ll, starts, w, self.site_zone, self.log_weight, n_zones, 2.0)
        target = np.array([self.declared[p] for p in ids])
        rows = np.arange(len(target))
        other = raw.copy()
        other[rows, target] = -np.inf
        lr = (raw[rows, target] - other.max(axis=1)) / np.log(10.0)
        own = np.stack(shares)[target, rows]
        _, _, ratio, _ = mixed_evidence(prepared, starts, w, self.site_zone, target, own)
        frac, _, _, stat = foreign_profile(ratio, starts, w, level=0.9)
        p = np.where(stat > 0, 0.5 * chi2.sf(np.maximum(stat, 0.0), 1), 1.0)
        ones = np.ones(len(target), dtype=bool)
        verdict, _, _ = decide(self.model.thresholds, n_stones=sizes, declared_known=ones, has_declared=ones,
                               log10_lr=lr, fraction=frac, mixed_p=p, novelty_p=np.ones(len(target)))
        return pd.DataFrame({"verdict": verdict, "p": p, "stat": stat}, index=pd.Index(ids, name="parcel_id"))


def _timed(func):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


def _compare(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    a = a.set_index("parcel_id")
    b = b.set_index("parcel_id").loc[a.index]
    out = {}
    for name in ("log10_lr", "foreign_fraction", "novelty_p", "n_stones"):
        out[name] = float(np.nanmax(np.abs(a[name].astype(float) - b[name].astype(float))))
    p = [c for c in a.columns if c.startswith("p_")]
    out["posterior"] = float(np.nanmax(np.abs(a[p].to_numpy(float) - b[p].to_numpy(float))))
    out["verdicts_same"] = float((a["verdict"] == b["verdict"]).mean())
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "demo-synthetic")
    args = parser.parse_args(argv)
    n_parcels = 40 if args.quick else 200
    model = FootprintModel.load(args.model)
    params = load_params()
    stones, truth = generate_parcels(params, seed=11, n_parcels=n_parcels, size_range=(150, 1500))
    declared = truth[["parcel_id", "declared_zone"]]
    sized = _sized(stones)
    print(
        f"SYNTHETIC export parcels: {len(truth)} parcels, {len(stones)} stones "
        f"({len(sized)} with a size class), model {model.manifest.get('label', 'demo-synthetic')}"
    )

    # 1. Stones restricted to size class x quality x colour, against their assortment.
    restricted = sized[["parcel_id", "sample_id", *FIELDS]]
    cells = _cells(sized, carats=False)
    (r_st, _), t_st = _timed(lambda: model.assess_batch(restricted, declared, per_stone=False))
    (r_as, _), t_as = _timed(
        lambda: model.assess_batch(
            cells[["parcel_id", "sample_id", *FIELDS]],
            declared,
            per_stone=False,
            weights=cells["n_stones"].to_numpy(float),
        )
    )
    diff = _compare(r_st, r_as)
    print("\n1. the same parcels as stones and as their assortment (size class x quality x colour)")
    print(f"   {'':28s}{'stones':>12s}{'assortment':>12s}")
    print(f"   {'rows':28s}{len(restricted):>12d}{len(cells):>12d}")
    print(
        f"   {'assess_batch seconds':28s}{t_st:>12.3f}{t_as:>12.3f}"
        f"   (assortment / stones: {t_as / t_st:.2f})"
    )
    for name in ("log10_lr", "foreign_fraction", "novelty_p", "posterior", "n_stones"):
        print(f"   max |difference| {name:17s} {diff[name]:.2e}   (target <= 1e-9)")
    best_as = r_as.set_index("parcel_id").loc[r_st["parcel_id"], "best_zone"].to_numpy()
    best_same = (r_st["best_zone"].to_numpy() == best_as).mean()
    print(
        f"   verdicts the same: {diff['verdicts_same']:.1%} of {len(r_st)} parcels (target 100%); "
        f"best zone the same: {best_same:.1%}"
    )
    counts = pd.DataFrame(
        {"stones": r_st["verdict"].value_counts(), "assortment": r_as["verdict"].value_counts()}
    )
    print(
        "   verdicts: "
        + "; ".join(f"{v} {int(row.stones)}/{int(row.assortment)}" for v, row in counts.fillna(0).iterrows())
    )
    full_fields = sized.drop(columns=[c for c in ("declared_zone",) if c in sized.columns])
    with_ct = _cells(sized, carats=True)
    (r_full, _), _ = _timed(lambda: model.assess_batch(full_fields, declared, per_stone=False))
    (r_ct, _), _ = _timed(
        lambda: model.assess_batch(
            with_ct[["parcel_id", "sample_id", *FIELDS, "mass_ct"]],
            declared,
            per_stone=False,
            weights=with_ct["n_stones"].to_numpy(float),
            mean_mass=True,
        )
    )
    info = _compare(r_full, r_ct)
    print(
        f"   (information) assortment with carats per cell against the stones with every field: "
        f"verdicts the same on {info['verdicts_same']:.1%}"
    )

    # 2. 25 % subsample of parcels of >= 400 stones, weighted by total / described carats. The bench's
    # parcels, then (to lower the standard error) as many again from another seed of the same generator,
    # appended after them: the bench's own parcels and their subsamples are drawn as before.
    rng = np.random.default_rng(5)
    more, more_truth = generate_parcels(params, seed=12, n_parcels=n_parcels, size_range=(150, 1500))
    more = _sized(more)
    for frame in (more, more_truth):
        frame["parcel_id"] = frame["parcel_id"].astype(str) + "-b"
    more["sample_id"] = more["sample_id"].astype(str) + "-b"
    truth = pd.concat([truth, more_truth], ignore_index=True)
    declared = truth[["parcel_id", "declared_zone"]]
    both = pd.concat([sized, more], ignore_index=True)
    size = both.groupby("parcel_id")["sample_id"].transform("size")
    big = both[size >= 400]
    picked = [
        np.sort(rng.choice(idx, max(1, round(0.25 * len(idx))), replace=False))
        for idx in big.groupby("parcel_id", sort=False).indices.values()
    ]
    keep = big.iloc[np.concatenate(picked)] if picked else big.iloc[:0]
    weighed = big["mass_ct"].groupby(big["parcel_id"]).sum()
    described = keep["mass_ct"].groupby(keep["parcel_id"]).sum()
    factor = (weighed / described).to_dict()
    n_own = int((sized.groupby("parcel_id").size() >= 400).sum())
    print(
        f"\n2. 25% subsamples of the {big['parcel_id'].nunique()} parcels of >= 400 stones "
        f"({n_own} of the bench's, {big['parcel_id'].nunique() - n_own} more from seed 12; "
        "weight = total / described carats)"
    )
    kinds = truth.set_index("parcel_id")["truth_kind"]
    oracle = _Oracle(model, params, truth)
    o_full = oracle.verdicts(big)
    o_sub = oracle.verdicts(keep).loc[o_full.index]
    judged = kinds.loc[o_full.index] != "out_of_reference"
    t_cut = 4 * (norm.isf(float(model.thresholds["mixed_alpha"])) + norm.isf(0.05)) ** 2
    clear = judged & ((o_full["p"] > 0.1) | (o_full["stat"] >= t_cut))
    alpha_u = float(model.thresholds["unknown_alpha"])
    o_agree = o_full["verdict"] == o_sub["verdict"]
    o_kind = kinds.loc[o_full.index].where(judged, "")  # the oracle has no unknown-origin test
    for label, full, sub, cells in (
        ("assortment + carats (size x quality x colour, mean mass)", _cells(big, carats=True),
         _cells(keep, carats=True), True),
        ("assortment, no carats (size x quality x colour)", _cells(big, carats=False),
         _cells(keep, carats=False), True),
        ("stones, every field", big.assign(n_stones=1.0), keep.assign(n_stones=1.0), False),
    ):
        cols = [c for c in full.columns if c not in ("n_stones", "carats", "size_class")]
        r_full_p, _ = model.assess_batch(
            full[cols], declared, per_stone=False, weights=full["n_stones"].to_numpy(float), mean_mass=cells
        )
        (r_sub, _), t_sub = _timed(lambda sub=sub, cols=cols, cells=cells: model.assess_batch(
            sub[cols], declared, per_stone=False, weights=sub["n_stones"].to_numpy(float), sampling=factor,
            mean_mass=cells))
        r_unw, _ = model.assess_batch(
            sub[cols], declared, per_stone=False, weights=sub["n_stones"].to_numpy(float), mean_mass=cells
        )
        same = _compare(r_full_p, r_sub)["verdicts_same"]
        same_unw = _compare(r_full_p, r_unw)["verdicts_same"]
        verdicts = r_full_p["verdict"].value_counts().to_dict()
        print(f"   {label}: full-parcel verdicts {verdicts}")
        own = ~r_full_p["parcel_id"].astype(str).str.endswith("-b").to_numpy()
        sub_verdict = r_sub.set_index("parcel_id").loc[r_full_p["parcel_id"], "verdict"].to_numpy()
        own_same = float((r_full_p["verdict"].to_numpy() == sub_verdict)[own].mean())
        print(
            f"      same verdict as the full parcel with the sampling weight (classify) {same:.1%} "
            f"+- {binomial_se(same, len(r_full_p)):.1%} (target >= 95%; the bench's {int(own.sum())} parcels "
            f"alone {own_same:.1%}); described stones' evidence alone {same_unw:.1%}  ({t_sub:.2f} s)"
        )
        f_v = r_full_p.set_index("parcel_id")
        s_v = r_sub.set_index("parcel_id").loc[f_v.index]
        agree = f_v["verdict"] == s_v["verdict"]
        kind = kinds.loc[f_v.index]
        # Out-of-reference parcels: clear-cut when the full parcel's unknown-origin p is far from alpha.
        far = (f_v["novelty_p"] < alpha_u / 10) | (f_v["novelty_p"] > 10 * alpha_u)
        is_clear = clear.reindex(f_v.index).fillna(False).astype(bool) | ((kind == "out_of_reference") & far)
        print("      full (rows) x subsample (columns) verdicts:")
        table = pd.crosstab(f_v["verdict"], s_v["verdict"])
        for line in table.to_string().splitlines():
            print(f"         {line}")
        print(
            "      agreement by truth kind (model / oracle): "
            + "; ".join(f"{k} {agree[kind == k].mean():.0%} / "
                        + (f"{o_agree[o_kind == k].mean():.0%}" if (o_kind == k).any() else "-")
                        + f" of {int((kind == k).sum())}"
                        for k in sorted(kind.unique()))
        )
        pairs = (f_v.loc[~agree, "verdict"] + " -> " + s_v.loc[~agree, "verdict"] + " (" + kind[~agree]
                 + np.where(is_clear[~agree], ", clear-cut", "") + ")").value_counts()
        print("      disagreements, full -> subsample (truth kind): "
              + ("; ".join(f"{k} {v}" for k, v in pairs.items()) or "none"))
        missed = (kind == "out_of_reference") & f_v["verdict"].eq("unknown_origin") & ~agree
        if missed.any():
            by_fit = (f_v.loc[missed, "fit_p"] < alpha_u / 2) & (f_v.loc[missed, "novelty_p"] >= alpha_u / 2)
            print(f"      out-of-reference parcels unknown in full, not in the subsample {int(missed.sum())};"
                  f" {int(by_fit.sum())} flagged in full by the population fit test alone (subsample fit p "
                  f"median {s_v.loc[missed, 'fit_p'].median():.2f}; the clear-cut rule reads the novelty p)")
        print(
            f"      clear-cut full verdicts: {agree[is_clear].mean():.1%} of {int(is_clear.sum())} agree; "
            f"borderline: {agree[~is_clear].mean():.1%} of {int((~is_clear).sum())}"
        )
        # Beside the oracle, on the parcels it judges (the reference zones): the weighted reading, the
        # described stones' evidence alone (n = m) and the oracle, overall, clear-cut and borderline.
        u_v = r_unw.set_index("parcel_id").loc[f_v.index]
        agree_unw = f_v["verdict"] == u_v["verdict"]
        ref = judged.reindex(f_v.index).fillna(False).astype(bool)
        cc = clear.reindex(f_v.index).fillna(False).astype(bool)
        parts = []
        for name, on in (("all", ref), ("clear-cut", ref & cc), ("borderline", ref & ~cc)):
            o_on = on.reindex(o_agree.index).fillna(False).astype(bool)
            parts.append(f"{name} {agree[on].mean():.1%} / {agree_unw[on].mean():.1%} / "
                         f"{o_agree[o_on].mean():.1%} of {int(on.sum())}")
        print("      reference-zone parcels, weighted / described alone (n = m) / oracle: "
              + "; ".join(parts))
        genuine = kind.isin(["pure_west", "pure_east"]) & truth.set_index("parcel_id").loc[
            f_v.index, "declared_zone"].eq(truth.set_index("parcel_id").loc[f_v.index, "truth_zone"])
        lost = s_v.loc[genuine & f_v["verdict"].eq("consistent") & ~agree, "verdict"].value_counts()
        print(
            f"      genuine parcels consistent in full, not in the subsample: {int(lost.sum())} "
            f"{lost.to_dict()} of {int((genuine & f_v['verdict'].eq('consistent')).sum())}"
        )
    print(
        f"   exact-density oracle (stones, every field; {int(judged.sum())} parcels in the reference zones): "
        f"same verdict {o_agree[judged].mean():.1%}; clear-cut {o_agree[clear].mean():.1%} of "
        f"{int(clear.sum())}, borderline {o_agree[judged & ~clear].mean():.1%} of "
        f"{int((judged & ~clear).sum())}"
    )
    table = pd.crosstab(o_full.loc[judged, "verdict"], o_sub.loc[judged, "verdict"])
    print("      oracle full (rows) x subsample (columns):")
    for line in table.to_string().splitlines():
        print(f"         {line}")

    # 3. Genuine parcels described by their assortment only, against the same parcels stone by stone.
    truth = truth.iloc[: len(truth) - len(more_truth)]  # the bench's own parcels
    declared = truth[["parcel_id", "declared_zone"]]
    honest = truth["truth_kind"].isin(["pure_west", "pure_east"])
    honest &= truth["declared_zone"] == truth["truth_zone"]
    genuine_ids = truth.loc[honest, "parcel_id"]
    gen = sized[sized["parcel_id"].isin(genuine_ids)]
    print(f"\n3. the {len(genuine_ids)} genuine parcels (declared truthfully), described three ways")
    for label, frame, cells in (
        ("stones, every field", gen.assign(n_stones=1.0), False),
        ("assortment + carats (size x quality x colour + mean mass)", _cells(gen, carats=True), True),
        ("assortment, no carats (size x quality x colour)", _cells(gen, carats=False), True),
    ):
        cols = [c for c in frame.columns if c not in ("n_stones", "carats", "size_class")]
        res, _ = model.assess_batch(
            frame[cols], declared, per_stone=False, weights=frame["n_stones"].to_numpy(float), mean_mass=cells
        )
        p = res["novelty_p"].to_numpy(float)
        print(
            f"   {label:58s} consistent {(res['verdict'] == 'consistent').mean():6.1%}  "
            f"unknown-origin p < 0.01 {np.mean(p < 0.01):5.1%}, < 0.05 {np.mean(p < 0.05):5.1%}, "
            f"median {np.median(p):.2f}; {res['verdict'].value_counts().to_dict()}"
        )

    # 4. Valuation of parcels of >= 50 ct.
    book = read_price_book(synthetic_price_book_path()).as_of(None)
    # Stones with a mass, a quality and a colour: their true value is defined stone by stone.
    weighed_stones = sized[sized[["mass_ct", "quality", "colour"]].notna().all(axis=1)].reset_index(drop=True)
    val_cells = _cells(weighed_stones, carats=True, carat_classes=True)
    (expected, _), t_val = _timed(lambda: (value_parcels(val_cells, book), None))
    true_value = pd.Series(
        [
            m * book.price(m, q if isinstance(q, str) else None, c if isinstance(c, str) else None)[0]
            for m, q, c in weighed_stones[["mass_ct", "quality", "colour"]].itertuples(index=False)
        ]
    )
    true_value = true_value.groupby(weighed_stones["parcel_id"]).sum()
    expected = expected.set_index("parcel_id")
    large = expected[expected["carats"] >= 50].index
    rng = np.random.default_rng(7)
    n = len(large)
    rows = []
    for label, factors in (
        ("30% under", np.full(n, 0.7)),
        ("30% over", np.full(n, 1.3)),
        ("honest (x (1 + 0.1 e))", 1.0 + 0.1 * rng.standard_normal(n)),
    ):
        declared_usd = true_value.loc[large].to_numpy() * factors
        lo = expected.loc[large, "expected_value_lo"].to_numpy()
        hi = expected.loc[large, "expected_value_hi"].to_numpy()
        flagged = float(((declared_usd < lo) | (declared_usd > hi)).mean())
        rows.append((label, flagged))
    ratio = (true_value.loc[large] / expected.loc[large, "expected_value_usd"]).to_numpy()
    print(
        f"\n4. valuation of the {n} parcels of >= 50 ct against the SYNTHETIC price book "
        f"({len(val_cells)} cells valued in {t_val:.3f} s)"
    )
    print(
        f"   true (stone by stone) / expected (assortment): median {np.median(ratio):.3f}, "
        f"range {ratio.min():.3f}-{ratio.max():.3f}"
    )
    for label, flagged in rows:
        target = "target <= 5%" if label.startswith("honest") else "target >= 95%"
        print(f"   declared {label:24s} flagged {flagged:6.1%}   ({target})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
