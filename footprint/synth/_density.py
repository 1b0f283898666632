"""The exact log-density of the generator, and the Bayes ceilings it implies.

``log p(stone | site)`` is the sum of the log-probabilities (or log-densities)
of the fields the stone has, following the generator's per-field
conditionals (see :mod:`footprint.synth._generate`). Missing values are MCAR
and independent of zone and site, so skipping them keeps the density exact
(the missingness factor cancels in every likelihood ratio).

Conventions (documented once, relied on by the tests):

- a carbonado's colour follows ``carbonado_colour``; other stones follow the
  site's colour shares; when the form is missing the colour term is the
  mixture ``p(carbonado) p(colour | carbonado) + p(other) p(colour | site)``;
- mass is a density in 1/ct; when mass is missing and the sieve class is
  present, the sieve bin's probability is used instead; when both are
  present, the sieve (a function of mass) adds nothing and is not counted;
- ``n_total_ppm`` = 0 means type IIa (probability ``iia_p``); a type I stone
  counts log(1 - iia_p) + the truncated log-normal density of N; %B is a
  Beta density in 1/% (Jacobian 1/100 included); platelet and 3107 areas count
  a point mass at 0 ("absent") or presence x log-normal density, given N (and
  N_B); ``n_a_ppm``, ``n_b_ppm`` and ``diamond_type`` are functions of N and %B
  and add nothing. FTIR fields whose conditioning value (N, %B) is missing
  are skipped (the generator never produces that case);
- ``log p(stone | zone)`` = logsumexp over the zone's sites of
  ``log w_site + log p(stone | site)`` (the stone-level marginal);
- ``log p(parcel | zone)`` = logsumexp over sites of
  ``log w_site + sum_i log p(stone_i | site)``: the stones of a parcel share
  a site, so a parcel is *not* a product of zone marginals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, log_ndtr, logsumexp

from .._schema import sieve_to_mm
from ..exceptions import InputError, Problem
from ._generate import D13C_RANGE, apply_missingness, sample_site_stones
from ._params import CATEGORICAL, ORDINAL, SynthParams

__all__ = ["ExactDensity"]

_LOG_2PI = math.log(2.0 * math.pi)


def _log_sf(z: np.ndarray) -> np.ndarray:
    """log(1 - Phi(z)), accurate in the tails."""
    return log_ndtr(-z)


def _log_interval(lo_z: np.ndarray, hi_z: np.ndarray) -> np.ndarray:
    """log(Phi(hi) - Phi(lo)) for lo < hi, computed without cancellation."""
    a, b = log_ndtr(hi_z), log_ndtr(lo_z)
    with np.errstate(divide="ignore"):
        return a + np.log1p(-np.exp(np.minimum(b - a, 0.0)))


def _norm_logpdf(z: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return -0.5 * z * z - np.log(sd) - 0.5 * _LOG_2PI


class ExactDensity:
    """Exact log-densities of stones and parcels under the SYNTHETIC generator.

    Parameters
    ----------
    params : SynthParams
        Generator parameters (:func:`~footprint.synth.load_params`).
    zones : list of str, optional
        Zones to score against; default the reference zones (CAR-West, CAR-East).

    Attributes
    ----------
    zones : list of str
        Zones, in column order of the zone-level outputs.
    sites : list of (str, str)
        ``(zone, site)`` of every site, in column order of :meth:`log_p_stone_site`.
    site_weights : ndarray of shape (n_sites,)
        Weight of each site within its zone (sums to 1 per zone).
    """

    def __init__(self, params: SynthParams, zones: list[str] | None = None) -> None:
        self.params = params
        self.zones = list(params.reference_zones if zones is None else zones)
        chosen = [s for z in self.zones for s in params.zone_sites(z)]
        if not chosen:
            raise ValueError(f"no sites for zones {self.zones}")
        self._site_params = chosen
        self.sites = [(s.zone, s.site) for s in chosen]
        raw = np.array([s.weight for s in chosen])
        zone_of = np.array([self.zones.index(s.zone) for s in chosen])
        totals = np.bincount(zone_of, weights=raw, minlength=len(self.zones))
        self.site_weights = raw / totals[zone_of]
        self._zone_of = zone_of
        self._num = {k: np.array([s.num[k] for s in chosen]) for k in chosen[0].num}
        with np.errstate(divide="ignore"):
            self._log_cat = {k: np.log(np.stack([s.cat[k] for s in chosen])) for k in chosen[0].cat}
        ab = np.array([s.beta_ab for s in chosen])
        self._beta_a, self._beta_b = ab[:, 0], ab[:, 1]

    # -- per-field terms, each (n_stones, n_sites) -----------------------------------

    def _categorical(self, df: pd.DataFrame, name: str, vocab: tuple[str, ...]) -> np.ndarray:
        n = len(df)
        if name not in df:
            return np.zeros((n, len(self.sites)))
        values = df[name]
        present = values.notna().to_numpy()
        keys = values.astype(object).where(values.notna(), None).map(
            lambda v: None if v is None else str(int(v)) if name in ORDINAL else str(v))
        lookup = {word: i for i, word in enumerate(vocab)}
        codes = np.array([lookup.get(k, -1) if k is not None else -1 for k in keys])
        bad = present & (codes < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{name}: value not in the generator's vocabulary", [
                Problem(None, row + 1, name, keys.iloc[row], f"must be one of: {', '.join(vocab)}")])
        table = self._log_cat[name]  # (n_sites, K)
        out = table[:, np.where(present, codes, 0)].T
        return np.where(present[:, None], out, 0.0)

    def _coating(self, df: pd.DataFrame) -> np.ndarray:
        if "coating" not in df:
            return np.zeros((len(df), len(self.sites)))
        values = df["coating"].astype("boolean")
        present = values.notna().to_numpy()
        on = values.fillna(False).to_numpy(dtype=bool)
        p = self._num["coating_p"][None, :]
        term = np.where(on[:, None], np.log(p), np.log1p(-p))
        return np.where(present[:, None], term, 0.0)

    def _mass(self, df: pd.DataFrame) -> np.ndarray:
        n = len(df)
        mu, sd = self._num["mass_ln_mu"][None, :], self._num["mass_ln_sigma"][None, :]
        log_c = math.log(self.params.cutoff_ct)
        log_norm = _log_sf((log_c - mu) / sd)  # P(mass > cut-off)
        mass = _column(df, "mass_ct", n)
        has_mass = np.isfinite(mass)
        out = np.zeros((n, len(self.sites)))
        if has_mass.any():
            lm = np.log(mass[has_mass])[:, None]
            dens = _norm_logpdf((lm - mu) / sd, sd) - lm - log_norm
            dens = np.where(lm >= log_c, dens, -np.inf)
            out[has_mass] = dens
        sieve = _sieve_numbers(df, n)
        use_sieve = ~has_mass & (sieve > 0)
        if use_sieve.any():
            edges = self.params.sieve_edges_ct
            k = sieve[use_sieve] - 1
            lo = np.maximum(edges[k], self.params.cutoff_ct)
            hi = np.where(k + 1 < len(edges), edges[np.minimum(k + 1, len(edges) - 1)], np.inf)
            with np.errstate(divide="ignore"):
                lo_z = (np.log(lo)[:, None] - mu) / sd
                hi_z = (np.log(hi)[:, None] - mu) / sd
            prob = np.where(hi[:, None] > lo[:, None], _log_interval(lo_z, hi_z), -np.inf)
            out[use_sieve] = prob - log_norm
        return out

    def _ftir(self, df: pd.DataFrame) -> np.ndarray:
        n = len(df)
        num = {k: v[None, :] for k, v in self._num.items()}
        out = np.zeros((n, len(self.sites)))
        n_tot = _column(df, "n_total_ppm", n)
        has_n = np.isfinite(n_tot)
        iia = has_n & (n_tot < self.params.n_min_ppm)
        type_i = has_n & ~iia
        out[iia] += np.log(num["iia_p"])[0]
        if not type_i.any():
            return out
        n_i = n_tot[type_i][:, None]
        ln_n = np.log(n_i)
        mu, sd = num["n_ln_mu"], num["n_ln_sigma"]
        log_norm = _log_interval((math.log(self.params.n_min_ppm) - mu) / sd,
                                 (np.log(num["n_max_ppm"]) - mu) / sd)
        term = np.log1p(-num["iia_p"]) + _norm_logpdf((ln_n - mu) / sd, sd) - ln_n - log_norm
        term = np.where(n_i <= num["n_max_ppm"], term, -np.inf)
        pct = _column(df, "n_b_percent", n)[type_i][:, None]
        frac = pct / 100.0
        has_b = np.isfinite(frac)
        a, b = self._beta_a[None, :], self._beta_b[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = (a - 1) * np.log(frac) + (b - 1) * np.log1p(-frac) - betaln(a, b) - math.log(100.0)
        term += np.where(has_b, beta, 0.0)
        # platelet | N_B
        n_b = np.where(has_b, n_i * frac, _column(df, "n_b_ppm", n)[type_i][:, None])
        plate = _column(df, "platelet_area_cm2", n)[type_i][:, None]
        term += _presence_lognormal(plate, np.log(num["platelet_p"]), np.log1p(-num["platelet_p"]),
                                    num["platelet_ln_mu"] + num["platelet_ln_slope"] * np.log(n_b / 100.0),
                                    num["platelet_ln_sd"], np.isfinite(plate) & np.isfinite(n_b) & (n_b > 0))
        # 3107 cm-1 | N
        h = _column(df, "h3107_area_cm2", n)[type_i][:, None]
        logit = num["h_logit"] + num["h_logit_slope"] * np.log(n_i / 100.0)
        term += _presence_lognormal(h, -np.logaddexp(0.0, -logit), -np.logaddexp(0.0, logit),
                                    num["h_ln_mu"] + num["h_ln_slope"] * np.log(n_i / 100.0),
                                    num["h_ln_sd"], np.isfinite(h))
        out[type_i] += term
        return out

    def _d13c(self, df: pd.DataFrame) -> np.ndarray:
        n = len(df)
        x = _column(df, "d13c_permil", n)
        has = np.isfinite(x)
        out = np.zeros((n, len(self.sites)))
        if has.any():
            mu, sd = self._num["d13c_mu"][None, :], self._num["d13c_sd"][None, :]
            lo, hi = D13C_RANGE
            log_norm = _log_interval((lo - mu) / sd, (hi - mu) / sd)
            xi = x[has][:, None]
            dens = _norm_logpdf((xi - mu) / sd, sd) - log_norm
            out[has] = np.where((xi >= lo) & (xi <= hi), dens, -np.inf)
        return out

    # -- public API ---------------------------------------------------------------------

    def log_p_stone_site(self, df: pd.DataFrame) -> np.ndarray:
        """Return log p(stone | site) for every stone and site.

        Parameters
        ----------
        df : DataFrame
            Stones with schema v1 columns (any may be missing or NaN).

        Returns
        -------
        ndarray of shape (n_stones, n_sites)
            Columns follow :attr:`sites`.
        """
        total = self._mass(df) + self._coating(df) + self._ftir(df) + self._d13c(df) + self._colour(df)
        for name, vocab in {**CATEGORICAL, **ORDINAL}.items():
            if name != "colour":
                total += self._categorical(df, name, vocab)
        return total

    def _colour(self, df: pd.DataFrame) -> np.ndarray:
        """Colour given morphology: carbonado colours, site colours, or their mixture if form is missing."""
        site_term = self._categorical(df, "colour", CATEGORICAL["colour"])
        if "colour" not in df:
            return site_term
        present = df["colour"].notna().to_numpy()
        lookup = {word: i for i, word in enumerate(CATEGORICAL["colour"])}
        codes = np.array([lookup.get(v, 0) if isinstance(v, str) else 0 for v in df["colour"]])
        with np.errstate(divide="ignore"):
            carb_term = np.log(self.params.carbonado_colour)[codes][:, None]
        morph = df["morphology"] if "morphology" in df else pd.Series([None] * len(df), index=df.index)
        is_carb = (morph == "carbonado").to_numpy()
        unknown = morph.isna().to_numpy()
        k = CATEGORICAL["morphology"].index("carbonado")
        with np.errstate(divide="ignore"):
            log_pc = self._log_cat["morphology"][:, k][None, :]
            log_not = np.log1p(-np.exp(log_pc))
        mixed = np.logaddexp(log_pc + carb_term, log_not + site_term)
        out = np.where(is_carb[:, None], carb_term, np.where(unknown[:, None], mixed, site_term))
        return np.where(present[:, None], out, 0.0)

    def _by_zone(self, per_site: np.ndarray) -> np.ndarray:
        """logsumexp_s [log w_s + per_site[:, s]] within each zone."""
        with np.errstate(divide="ignore"):
            weighted = per_site + np.log(self.site_weights)[None, :]
        return np.column_stack([logsumexp(weighted[:, self._zone_of == z], axis=1)
                                for z in range(len(self.zones))])

    def log_p_stone_zone(self, df: pd.DataFrame) -> np.ndarray:
        """Return log p(stone | zone), the site mixture of each zone.

        Returns
        -------
        ndarray of shape (n_stones, n_zones)
            Columns follow :attr:`zones`.
        """
        return self._by_zone(self.log_p_stone_site(df))

    def log_p_parcel_zone(self, stones_df: pd.DataFrame, parcel_col: str = "parcel_id", *,
                          site_aware: bool = True) -> pd.DataFrame:
        """Return log p(parcel | zone) for every parcel.

        Parameters
        ----------
        stones_df : DataFrame
            Stones with a parcel column.
        parcel_col : str, default="parcel_id"
            Column naming each stone's parcel.
        site_aware : bool, default=True
            True: the stones share a site (the generator's truth). False: the
            naive product of zone marginals, kept to show it is overconfident.

        Returns
        -------
        DataFrame
            Index: parcel ids (sorted); columns: :attr:`zones`.
        """
        parcels = stones_df[parcel_col].to_numpy()
        order, starts, ids = _group_starts(parcels)
        if site_aware:
            per_site = self.log_p_stone_site(stones_df)[order]
            summed = np.add.reduceat(per_site, starts, axis=0)
            values = self._by_zone(summed)
        else:
            per_zone = self.log_p_stone_zone(stones_df)[order]
            values = np.add.reduceat(per_zone, starts, axis=0)
        return pd.DataFrame(values, index=pd.Index(ids, name=parcel_col), columns=self.zones)

    def sample_parcels(self, n_parcels: int, size: int, rng: np.random.Generator
                       ) -> tuple[pd.DataFrame, np.ndarray]:
        """Draw parcels the Bayes ceiling is measured on.

        Zones are equally likely (equal priors), the site follows the zone's
        site weights, all stones of a parcel come from that site, and
        missingness is applied as in the reference set.

        Returns
        -------
        stones : DataFrame
            Observed stones with ``parcel_id`` (int), sorted by parcel.
        true_zone : ndarray of shape (n_parcels,)
            Index into :attr:`zones` of each parcel's zone.
        """
        zone = rng.integers(len(self.zones), size=n_parcels)
        site = np.empty(n_parcels, dtype=int)
        for z in range(len(self.zones)):
            members = np.flatnonzero(self._zone_of == z)
            mask = zone == z
            site[mask] = rng.choice(members, size=int(mask.sum()), p=self.site_weights[members])
        frames = []
        for s in np.unique(site):
            pids = np.flatnonzero(site == s)
            stones = sample_site_stones(self._site_params[s], self.params, len(pids) * size, rng)
            frames.append(stones.assign(parcel_id=np.repeat(pids, size)))
        stones = apply_missingness(pd.concat(frames, ignore_index=True), self.params, rng)
        stones = stones.sort_values("parcel_id", kind="stable", ignore_index=True)
        return stones, zone

    def bayes_ceiling(self, *, parcel_sizes: tuple[int, ...] = (1, 5, 10, 25, 50), n_stones: int = 100_000,
                      seed: int = 0) -> dict[str, Any]:
        """Monte Carlo estimate of the Bayes-optimal accuracy, log loss and Cllr.

        Equal zone priors; site-aware parcel likelihoods; parcels drawn as in
        :meth:`sample_parcels`. Each size uses ``n_stones // size`` parcels
        (at least 2,000), so the figures carry Monte Carlo error of about
        ``sqrt(p (1 - p) / n_parcels)``.

        Parameters
        ----------
        parcel_sizes : tuple of int
            Parcel sizes; size 1 is the stone level.
        n_stones : int, default=100000
            Stones drawn per size.
        seed : int, default=0
            Random seed.

        Returns
        -------
        dict
            ``{"zones", "priors", "seed", "synthetic": True, "sizes": {size: {"n_parcels",
            "accuracy", "log_loss" (nats), "cllr" (bits; two zones only),
            "accuracy_se"}}}``.
        """
        rng = np.random.default_rng(seed)
        out: dict[str, Any] = {"zones": self.zones, "priors": "equal", "seed": seed, "synthetic": True,
                               "params_sha256": self.params.sha256, "sizes": {}}
        for size in parcel_sizes:
            n_parcels = max(2000, n_stones // size)
            stones, truth = self.sample_parcels(n_parcels, size, rng)
            scores = self.log_p_parcel_zone(stones).reindex(np.arange(n_parcels)).to_numpy()
            out["sizes"][int(size)] = {"n_parcels": n_parcels, **score_posteriors(scores, truth)}
        return out


def score_posteriors(log_lik: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Accuracy, log loss (nats) and Cllr (bits) of equal-prior posteriors.

    Parameters
    ----------
    log_lik : ndarray of shape (n, n_zones)
        Log-likelihood of each item under each zone.
    truth : ndarray of shape (n,)
        Index of the true zone.

    Returns
    -------
    dict
        ``accuracy``, ``accuracy_se``, ``log_loss``, ``cllr`` (NaN unless two
        zones), ``mean_max_posterior`` (equals the accuracy when calibrated).
    """
    finite = np.where(np.isfinite(log_lik), log_lik, -1e300)
    log_post = finite - logsumexp(finite, axis=1, keepdims=True)
    idx = np.arange(len(truth))
    acc = float(np.mean(np.argmax(log_post, axis=1) == truth))
    result = {
        "accuracy": acc,
        "accuracy_se": float(math.sqrt(acc * (1 - acc) / len(truth))),
        "log_loss": float(-np.mean(np.maximum(log_post[idx, truth], -50.0))),
        "mean_max_posterior": float(np.mean(np.exp(log_post.max(axis=1)))),
        "cllr": float("nan"),
    }
    if log_lik.shape[1] == 2:
        llr = np.clip(finite[:, 0] - finite[:, 1], -700, 700)  # ln LR, zone 0 vs zone 1
        first, second = truth == 0, truth == 1
        cllr = (np.mean(np.logaddexp(0.0, -llr[first])) + np.mean(np.logaddexp(0.0, llr[second]))) / (
            2.0 * math.log(2.0))
        result["cllr"] = float(cllr)
    return result


def _column(df: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in df:
        return np.full(n, np.nan)
    return pd.to_numeric(df[name], errors="coerce").astype("float64").to_numpy()


def _sieve_numbers(df: pd.DataFrame, n: int) -> np.ndarray:
    """DTC sieve number of each stone (0 when missing); mm sieves map to the DTC sieve below."""
    if "sieve_class" not in df:
        return np.zeros(n, dtype=int)
    apertures = np.array([sieve_to_mm(f"dtc:+{k}") for k in range(1, 24)])
    out = np.zeros(n, dtype=int)
    for i, value in enumerate(df["sieve_class"].to_numpy()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        system, _, number = str(value).partition(":")
        if system == "dtc":
            out[i] = int(float(number))
        else:
            out[i] = max(1, int(np.searchsorted(apertures, float(number), side="right")))
    return out


def _presence_lognormal(x: np.ndarray, log_on: np.ndarray, log_off: np.ndarray, mu: np.ndarray,
                        sd: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Return log p of a value that is 0 (absent) or log-normal (present); 0 where not ``use``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(np.where(x > 0, x, 1.0))
        dens = log_on + _norm_logpdf((lx - mu) / sd, sd) - lx
        term = np.where(x > 0, dens, log_off)
    return np.where(use, term, 0.0)


def _group_starts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable sort order by label, group start offsets, and the sorted unique labels."""
    codes, uniques = pd.factorize(labels, sort=True)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(uniques)))
    return order, starts, np.asarray(uniques)
