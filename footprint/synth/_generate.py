"""The sampler: SYNTHETIC stones given a site, reference lots, and test parcels.

The generative model of one stone given its site is a product of per-field
conditionals (so :class:`~footprint.synth.ExactDensity` can evaluate it
exactly):

- ``mass_ct``: log-normal(mu, sigma) truncated below at the recovery cut-off;
  ``sieve_class`` is a deterministic function of mass (equivalent-sphere
  diameter against the DTC sieve apertures, see ``synth_params.json``);
- ``colour``, ``morphology``, ``quality``, ``radiation_spots``,
  ``fluorescence``, ``resorption``, ``abrasion``: independent categoricals,
  except that a carbonado's colour follows ``carbonado_colour``;
  ``coating``: Bernoulli;
- FTIR block: type IIa with probability ``iia_p`` (then N = 0, no platelet, no
  3107 peak); otherwise total N log-normal truncated to [n_min, n_max], the
  aggregated fraction B ~ Beta, ``n_a = N (1 - B)``, ``n_b = N B``, the type
  from %B; platelet present with probability ``platelet_p`` and log-area normal
  with mean rising with ln(N_B / 100 ppm); 3107 peak present with probability
  ``logistic(h_logit + h_logit_slope ln(N / 100 ppm))`` and log-area normal with
  mean rising with ln(N / 100 ppm) (documented dependencies on N);
- ``d13c_permil``: normal truncated to the schema range [-40, 10].

Missingness is MCAR, independent of zone and site (probabilities in the
parameter file), so skipping missing fields keeps the density exact. The
provenance fields (lab, dates, cleaning state, custody references) are drawn
independently of the zone and carry no zone information.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .._schema import sieve_to_mm
from ._lots import lot_site
from ._params import CATEGORICAL, ORDINAL, SiteParams, SynthParams

__all__ = ["BUNDLED_LOTS_PER_SITE", "BUNDLED_STONES_PER_LOT", "FTIR_COLUMNS", "STONE_COLUMNS",
           "generate_parcels", "generate_reference", "sample_site_stones"]

#: Physical and spectroscopic stone fields the generator produces (schema v1 names).
STONE_COLUMNS = ("mass_ct", "sieve_class", "colour", "morphology", "quality", "resorption", "abrasion",
                 "radiation_spots", "coating", "fluorescence", "diamond_type", "n_total_ppm", "n_a_ppm",
                 "n_b_ppm", "n_b_percent", "platelet_area_cm2", "h3107_area_cm2", "d13c_permil")
#: Fields measured together by FTIR (missing together).
FTIR_COLUMNS = ("diamond_type", "n_total_ppm", "n_a_ppm", "n_b_ppm", "n_b_percent", "platelet_area_cm2",
                "h3107_area_cm2")
_PROVENANCE = ("sample_id", "zone", "site", "country", "lot_id", "collected_on", "lab", "cleaning_state",
               "custody_ref", "notes")
SYNTHETIC_NOTE = "SYNTHETIC"
#: Size of the bundled reference set (what ``make demo``, the demo model and the model benchmark
#: use): lots at every reference site and stones per lot. 120 lots of 40 stones (4,800 stones a
#: site, ten years of monthly lots) is a mature reference database. It is sized so that the
#: model's figures can be compared with the Bayes ceiling at all: with 6 lots a site, even an
#: oracle that knows the generator's zone centres and site spread (the exact hierarchical
#: posterior predictive) is 3 points below the ceiling on parcels of 25 for the categorical
#: fields, so no method could meet "within 1 point"; benchmarks/bench_model.py prints that
#: learning curve (6, 30, 120 lots) beside the bundled-size figures.
BUNDLED_LOTS_PER_SITE = 120
BUNDLED_STONES_PER_LOT = 40
D13C_RANGE = (-40.0, 10.0)


def _truncated_lognormal(rng: np.random.Generator, mu: float, sigma: float, lo: float, hi: float,
                         n: int) -> np.ndarray:
    """Inverse-CDF draw from log-normal(mu, sigma) restricted to [lo, hi]."""
    a = ndtr((np.log(lo) - mu) / sigma) if lo > 0 else 0.0
    b = ndtr((np.log(hi) - mu) / sigma) if np.isfinite(hi) else 1.0
    u = a + (b - a) * rng.random(n)
    return np.exp(mu + sigma * ndtri(u))


def _as_mm(value: str | None) -> str | None:
    """Write a DTC sieve as its aperture in mm (what some labs report)."""
    return None if value is None else f"mm:{sieve_to_mm(value):.2f}"


def sieve_number(mass_ct: np.ndarray, params: SynthParams) -> np.ndarray:
    """Return the DTC sieve number (1..23) a stone of each mass is retained on."""
    return np.searchsorted(params.sieve_edges_ct, mass_ct, side="right")


def _categorical(rng: np.random.Generator, probs: np.ndarray, vocab: tuple[str, ...], n: int) -> np.ndarray:
    idx = rng.choice(len(vocab), size=n, p=probs)
    return np.asarray(vocab, dtype=object)[idx]


def _ftir_block(rng: np.random.Generator, site: SiteParams, params: SynthParams, n: int) -> dict[str, Any]:
    p = site.num
    iia = rng.random(n) < p["iia_p"]
    n_tot = _truncated_lognormal(rng, p["n_ln_mu"], p["n_ln_sigma"], params.n_min_ppm, p["n_max_ppm"], n)
    a, b = site.beta_ab
    frac_b = rng.beta(a, b, n)
    plate_on = rng.random(n) < p["platelet_p"]
    n_b = n_tot * frac_b
    plate_mu = p["platelet_ln_mu"] + p["platelet_ln_slope"] * np.log(n_b / 100.0)
    plate = np.where(plate_on, np.exp(plate_mu + p["platelet_ln_sd"] * rng.standard_normal(n)), 0.0)
    log_n = np.log(n_tot / 100.0)
    h_prob = 1.0 / (1.0 + np.exp(-(p["h_logit"] + p["h_logit_slope"] * log_n)))
    h_on = rng.random(n) < h_prob
    h_area = np.where(h_on, np.exp(p["h_ln_mu"] + p["h_ln_slope"] * log_n
                                   + p["h_ln_sd"] * rng.standard_normal(n)), 0.0)
    low, high = params.type_cuts
    pct_b = 100.0 * frac_b
    dtype = np.where(pct_b < low, "IaA", np.where(pct_b > high, "IaB", "IaAB")).astype(object)
    return {
        "diamond_type": np.where(iia, "IIa", dtype).astype(object),
        "n_total_ppm": np.where(iia, 0.0, n_tot),
        "n_a_ppm": np.where(iia, 0.0, n_tot * (1.0 - frac_b)),
        "n_b_ppm": np.where(iia, 0.0, n_b),
        "n_b_percent": np.where(iia, np.nan, pct_b),
        "platelet_area_cm2": np.where(iia, 0.0, plate),
        "h3107_area_cm2": np.where(iia, 0.0, h_area),
    }


def sample_site_stones(site: SiteParams, params: SynthParams, n: int, rng: np.random.Generator
                       ) -> pd.DataFrame:
    """Draw ``n`` complete (unmasked) SYNTHETIC stones from one site.

    Parameters
    ----------
    site : SiteParams
        The site's parameters.
    params : SynthParams
        The whole parameter set (cut-off, sieve relation, type cuts).
    n : int
        Number of stones.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    DataFrame
        Columns :data:`STONE_COLUMNS` with every value present (true values).
    """
    p = site.num
    mass = _truncated_lognormal(rng, p["mass_ln_mu"], p["mass_ln_sigma"], params.cutoff_ct, np.inf, n)
    out: dict[str, Any] = {
        "mass_ct": mass,
        "sieve_class": np.array([f"dtc:+{k}" for k in sieve_number(mass, params)], dtype=object),
    }
    for name, vocab in CATEGORICAL.items():
        out[name] = _categorical(rng, site.cat[name], vocab, n)
    carbonado = out["morphology"] == "carbonado"
    if carbonado.any():  # documented dependency: a carbonado's colour has its own shares
        out["colour"][carbonado] = _categorical(rng, params.carbonado_colour, CATEGORICAL["colour"],
                                                int(carbonado.sum()))
    for name, vocab in ORDINAL.items():
        out[name] = rng.choice(len(vocab), size=n, p=site.cat[name])
    out["coating"] = rng.random(n) < p["coating_p"]
    out.update(_ftir_block(rng, site, params, n))
    lo, hi = D13C_RANGE
    a, b = ndtr((lo - p["d13c_mu"]) / p["d13c_sd"]), ndtr((hi - p["d13c_mu"]) / p["d13c_sd"])
    out["d13c_permil"] = p["d13c_mu"] + p["d13c_sd"] * ndtri(a + (b - a) * rng.random(n))
    frame = pd.DataFrame(out)
    return frame[list(STONE_COLUMNS)]


def apply_missingness(truth: pd.DataFrame, params: SynthParams, rng: np.random.Generator) -> pd.DataFrame:
    """Blank values completely at random (independent of zone), as labs leave fields empty.

    The FTIR block is missing as a whole; every other field independently.
    """
    obs = _typed(truth)
    n = len(obs)
    for name, prob in params.missing.items():
        gone = rng.random(n) < prob
        for col in FTIR_COLUMNS if name == "ftir" else (name,):
            obs[col] = obs[col].mask(gone)
    return _typed(obs)


_INT_COLUMNS = ("resorption", "abrasion")
_BOOL_COLUMNS = ("coating",)
_FLOAT_COLUMNS = ("mass_ct", "n_total_ppm", "n_a_ppm", "n_b_ppm", "n_b_percent", "platelet_area_cm2",
                  "h3107_area_cm2", "d13c_permil", "truth_foreign_fraction")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast to the ingest contract's dtypes: float64 (NaN), Int64, boolean, object str/None."""
    out = frame.copy()
    for col in out.columns:
        if col in _INT_COLUMNS:
            out[col] = pd.array(pd.to_numeric(out[col]), dtype="Int64")
        elif col in _BOOL_COLUMNS:
            out[col] = out[col].astype("boolean")
        elif col in _FLOAT_COLUMNS:
            out[col] = out[col].astype("float64")
        else:
            values = out[col].astype(object)
            out[col] = pd.Series([None if pd.isna(v) else v for v in values], index=out.index,
                                 dtype=object)
    return out


def _random_date(rng: np.random.Generator, years: tuple[int, int]) -> str:
    start = _dt.date(int(years[0]), 1, 1).toordinal()
    stop = _dt.date(int(years[1]), 12, 31).toordinal()
    return _dt.date.fromordinal(int(rng.integers(start, stop + 1))).isoformat()


def _lot_meta(rng: np.random.Generator, params: SynthParams) -> dict[str, Any]:
    """Provenance of one lot, drawn independently of its zone."""
    prov = params.provenance
    states = list(prov["cleaning_state"])
    date = _random_date(rng, prov["collected_years"])
    return {
        "collected_on": date,
        "lab": str(rng.choice(prov["labs"])),
        "cleaning_state": str(rng.choice(states, p=[prov["cleaning_state"][s] for s in states])),
        "custody_ref": f"BA-{date[:4]}-{int(rng.integers(0, 1_000_000)):06d}",
    }


def _generate_reference(params: SynthParams, *, seed: int, lots_per_site: int = BUNDLED_LOTS_PER_SITE,
                        stones_per_lot: int = BUNDLED_STONES_PER_LOT,
                        zones: list[str] | None = None, lot_sd: float = 0.0
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(observed, truth)`` reference frames (see :func:`generate_reference`)."""
    rng = np.random.default_rng(seed)
    zones = params.reference_zones if zones is None else list(zones)
    parts_obs, parts_truth = [], []
    for site in [s for s in params.sites if s.zone in zones]:
        for lot in range(1, lots_per_site + 1):
            meta = _lot_meta(rng, params)
            truth = sample_site_stones(lot_site(site, lot_sd, rng), params, stones_per_lot, rng)
            lot_id = f"{site.country}-{site.code}-{meta['collected_on'][:4]}-{lot:03d}"
            ids = [f"SYN-{site.code}{lot:02d}-{i:03d}" for i in range(1, stones_per_lot + 1)]
            ident = {"sample_id": ids, "zone": site.zone, "site": site.site, "country": site.country,
                     "lot_id": lot_id, **meta, "notes": SYNTHETIC_NOTE}
            obs = apply_missingness(truth, params, rng)
            if meta["lab"] in params.provenance.get("mm_sieve_labs", ()):
                obs["sieve_class"] = obs["sieve_class"].map(_as_mm)
            parts_truth.append(pd.concat([pd.DataFrame(ident), truth.reset_index(drop=True)], axis=1))
            parts_obs.append(pd.concat([pd.DataFrame(ident), obs.reset_index(drop=True)], axis=1))
    observed = _typed(pd.concat(parts_obs, ignore_index=True))
    truth = pd.concat(parts_truth, ignore_index=True)
    return observed[list(_PROVENANCE) + list(STONE_COLUMNS)], truth


def generate_reference(params: SynthParams, *, seed: int, lots_per_site: int = BUNDLED_LOTS_PER_SITE,
                       stones_per_lot: int = BUNDLED_STONES_PER_LOT,
                       zones: list[str] | None = None, lot_sd: float = 0.0) -> pd.DataFrame:
    """Generate a SYNTHETIC reference set: lots of stones, one site per lot.

    Parameters
    ----------
    params : SynthParams
        Generator parameters (:func:`~footprint.synth.load_params`).
    seed : int
        Random seed; the same seed gives the same frame.
    lots_per_site : int, default=BUNDLED_LOTS_PER_SITE
        Lots drawn at every site of every zone (the bundled set: 120).
    stones_per_lot : int, default=BUNDLED_STONES_PER_LOT
        Stones per lot (the bundled set: 40).
    zones : list of str, optional
        Zones to draw; default the reference zones (CAR-West, CAR-East).
    lot_sd : float, default=0.0
        Lot-to-lot variation within a site (:func:`._lots.lot_site`): every lot
        gets its own centres and category shares. 0 (the bundled set) draws
        every lot from its site's density.

    Returns
    -------
    DataFrame
        One row per stone with every schema v1 field (identity, physical,
        spectroscopic), typed as the ingest contract says, with values
        missing completely at random; ``notes`` is ``"SYNTHETIC"``.
    """
    return _generate_reference(params, seed=seed, lots_per_site=lots_per_site, stones_per_lot=stones_per_lot,
                               zones=zones, lot_sd=lot_sd)[0]


_KINDS = ("pure_west", "pure_east", "topped_up", "out_of_reference")
_KIND_SHARES = (0.4, 0.2, 0.25, 0.15)  # estimate: a month's mix of test parcels
_FOREIGN_FRACTIONS = (0.05, 0.1, 0.15, 0.3)  # estimate: topping-up shares to detect (issue 12)
#: Chance that an export parcel's own stones come from one site; otherwise several sites of the zone
#: in Dirichlet(1) shares (a buying house mixes collectors' lots; estimate).
_SINGLE_SITE = 0.5
_EXPORTERS = ("Bureau d'achat Alpha (SYNTHETIC)", "Bureau d'achat Bravo (SYNTHETIC)",
              "Comptoir Charlie (SYNTHETIC)", "Comptoir Delta (SYNTHETIC)")


def _pick_site(rng: np.random.Generator, sites: list[SiteParams]) -> SiteParams:
    weights = np.array([s.weight for s in sites])
    return sites[int(rng.choice(len(sites), p=weights / weights.sum()))]


def _parcel_plan(rng: np.random.Generator, params: SynthParams, kind: str
                 ) -> tuple[SiteParams, SiteParams | None, float]:
    """Return the main site, foreign site and foreign share of one parcel of ``kind``."""
    west, east = params.reference_zones[0], params.reference_zones[1]
    if kind == "pure_west":
        return _pick_site(rng, params.zone_sites(west)), None, 0.0
    if kind == "pure_east":
        return _pick_site(rng, params.zone_sites(east)), None, 0.0
    if kind == "topped_up":
        return (_pick_site(rng, params.zone_sites(west)), _pick_site(rng, params.zone_sites(east)),
                float(rng.choice(_FOREIGN_FRACTIONS)))
    others = [z for z in params.zones if z not in params.reference_zones]
    zone = others[int(rng.integers(len(others)))]
    return _pick_site(rng, params.zone_sites(zone)), None, 0.0


_SMALL_PARCEL_SHARE = 0.15  # estimate: most export parcels hold tens of stones, a few only a handful
_TYPICAL_MIN = 10


def _parcel_sizes(rng: np.random.Generator, n: int, size_range: tuple[int, int]) -> np.ndarray:
    """Log-uniform sizes: mostly in [10, hi], a few over the whole range; both extremes appear."""
    lo, hi = size_range
    typical_lo = min(max(lo, _TYPICAL_MIN), hi)
    small = rng.random(n) < _SMALL_PARCEL_SHARE
    low = np.where(small, lo, typical_lo)
    sizes = np.rint(np.exp(rng.uniform(np.log(low), np.log(hi)))).astype(int)
    if n >= 2:
        sizes[0], sizes[1] = hi, lo
    return np.clip(sizes, lo, hi)


#: Honest declarations scatter around the price book by this log-normal spread (estimate).
_DECLARED_SD_LN = 0.1
#: Share of parcels declared 40% under, and 50% over, their price-book value (estimate: the demo's cases
#: for the valuation check; drawn from their own random stream, so the stones do not change).
_UNDER_SHARE, _OVER_SHARE = 0.1, 0.05


def _book_value(truth: pd.DataFrame, params: SynthParams) -> float:
    """Price-book value (US$) of a parcel's true stones, each at its own mass, quality and colour."""
    mass = truth["mass_ct"].to_numpy(dtype=float)
    per_ct = params.price_shape.usd_per_ct(mass, truth["quality"].to_numpy(), truth["colour"].to_numpy())
    return float(np.nansum(mass * per_ct))


def _generate_parcels(params: SynthParams, *, seed: int, n_parcels: int = 30,
                      size_range: tuple[int, int] = (1, 100), month: str = "2024-06"
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(stones, parcels, truth)`` (see :func:`generate_parcels`)."""
    rng = np.random.default_rng(seed)
    declaring = np.random.default_rng([seed, 7])  # misdeclarations: a stream of their own
    kinds = [_KINDS[i % len(_KINDS)] for i in range(min(n_parcels, len(_KINDS)))]
    kinds += list(rng.choice(_KINDS, size=max(0, n_parcels - len(kinds)), p=_KIND_SHARES))
    kinds = [str(k) for k in rng.permutation(kinds)]
    sizes = _parcel_sizes(rng, n_parcels, size_range)
    stones, truths, parcels = [], [], []
    year, mon = (int(v) for v in month.split("-"))
    for i, (kind, size) in enumerate(zip(kinds, sizes, strict=True), start=1):
        main, foreign, share = _parcel_plan(rng, params, kind)
        n_foreign = 0
        if foreign is not None:  # a topped-up parcel holds at least one foreign and one own stone
            size = max(int(size), min(_TYPICAL_MIN, size_range[1]), 2)
            n_foreign = min(max(1, int(round(share * size))), size - 1)
        # The own stones: the main site alone, or several sites of its zone in Dirichlet shares.
        zone_sites = params.zone_sites(main.zone)
        shares = np.array([1.0 if s is main else 0.0 for s in zone_sites])
        if len(zone_sites) > 1 and rng.random() >= _SINGLE_SITE:
            shares = 0.5 * shares + 0.5 * rng.dirichlet(np.ones(len(zone_sites)))
        counts = rng.multinomial(size - n_foreign, shares)
        truth = pd.concat([*(sample_site_stones(s, params, int(c), rng).assign(zone=s.zone, site=s.site)
                             for s, c in zip(zone_sites, counts, strict=True) if c),
                           sample_site_stones(foreign, params, n_foreign, rng).assign(
                               zone=foreign.zone, site=foreign.site) if foreign else None],
                          ignore_index=True)
        truth = truth.iloc[rng.permutation(len(truth))].reset_index(drop=True)
        parcel_id = f"SYN-P{month.replace('-', '')}-{i:03d}"
        cleaning = str(rng.choice(list(params.provenance["cleaning_state"])))
        ident = {"parcel_id": parcel_id, "sample_id": [f"{parcel_id}-{k:03d}" for k in range(1, size + 1)]}
        obs = apply_missingness(truth[list(STONE_COLUMNS)], params, rng)
        stones.append(pd.concat([pd.DataFrame(ident), obs], axis=1).assign(
            country="CAF", cleaning_state=cleaning, notes=SYNTHETIC_NOTE))
        truths.append(pd.concat([pd.DataFrame(ident), truth], axis=1))
        declared = params.reference_zones[1] if kind == "pure_east" and rng.random() < 0.5 \
            else params.reference_zones[0]
        # Declared value: the price book's value of the true stones with an honest scatter, or misdeclared.
        honest = np.exp(_DECLARED_SD_LN * rng.standard_normal())
        draw = declaring.random()
        factor = 0.6 if draw < _UNDER_SHARE else 1.5 if draw < _UNDER_SHARE + _OVER_SHARE else 1.0
        carats = float(truth["mass_ct"].sum())
        parcels.append({
            "parcel_id": parcel_id, "declared_zone": declared,
            "kp_certificate": f"CF-{year}-{int(rng.integers(0, 100_000)):05d}",
            "exporter": str(rng.choice(_EXPORTERS)),
            "export_date": _dt.date(year, mon, int(rng.integers(1, 29))).isoformat(),
            "n_stones": int(size), "total_carats": round(carats, 3),
            "declared_value_usd": round(_book_value(truth, params) * honest * factor, 2),
            "cleaning_state": cleaning,
            "truth_kind": kind, "truth_zone": main.zone, "truth_site": main.site,
            "truth_foreign_zone": foreign.zone if foreign else None,
            "truth_foreign_site": foreign.site if foreign else None,
            "truth_foreign_fraction": n_foreign / size, "truth_value_factor": factor, "notes": SYNTHETIC_NOTE,
        })
    stones_df = _typed(pd.concat(stones, ignore_index=True))
    return stones_df, pd.DataFrame(parcels), pd.concat(truths, ignore_index=True)


def generate_parcels(params: SynthParams, *, seed: int, n_parcels: int = 30,
                     size_range: tuple[int, int] = (1, 100), month: str = "2024-06"
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate SYNTHETIC test parcels with known truth (a month of export parcels).

    Parameters
    ----------
    params : SynthParams
        Generator parameters.
    seed : int
        Random seed.
    n_parcels : int, default=30
        Number of parcels; with 4 or more every kind appears at least once.
    size_range : (int, int), default=(1, 100)
        Smallest and largest parcel (stones). Sizes are log-uniform on
        [10, largest] for 85 % of parcels and on the whole range for the rest
        (estimate); both extremes appear when ``n_parcels >= 2``; a topped-up
        parcel has at least 10 stones (or the largest size) and at least one
        foreign stone.
    month : str, default="2024-06"
        Export month ``YYYY-MM`` (dates, KP certificate numbers).

    Returns
    -------
    stones : DataFrame
        One row per stone: ``parcel_id``, ``sample_id``, the physical and
        spectroscopic fields (values missing at random), ``country``,
        ``cleaning_state``, ``notes`` = "SYNTHETIC"; no zone or site.
    parcels : DataFrame
        ``parcel_id, declared_zone, kp_certificate, exporter, export_date,
        n_stones, total_carats, declared_value_usd, cleaning_state,
        truth_kind`` (pure_west, pure_east, topped_up, out_of_reference),
        ``truth_zone, truth_site`` (the main site: half the parcel's own stones
        are from several sites of its zone in Dirichlet shares, as export
        parcels are; the rest come from one site), ``truth_foreign_zone, truth_foreign_site,
        truth_foreign_fraction`` (exact share of foreign stones),
        ``truth_value_factor`` (declared value / its price-book value before the
        honest 10% scatter: 1, or 0.6 and 1.5 for the misdeclared parcels),
        ``notes``. Declared values follow the bundled SYNTHETIC price book's
        shape stone by stone (:func:`_book_value`).
    """
    stones, parcels, _ = _generate_parcels(params, seed=seed, n_parcels=n_parcels, size_range=size_range,
                                           month=month)
    return stones, parcels
