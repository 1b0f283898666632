"""The "realistic" SYNTHETIC variant: parageneses per site, correlated fields, lot-to-lot drift.

The bundled generator (:mod:`footprint.synth._generate`) draws every field of
a stone independently given its site. Real diamonds from one mine are not
like that: a mine's production mixes several populations, chiefly the
peridotitic and the eclogitic parageneses (and several growth events), so
nitrogen, delta13C and the aggregation state are correlated and multimodal
within one site, and the share of each population drifts from lot to lot.
This module generates such data, as an *option* (``footprint synth reference
--variant realistic``); the bundled default reference set is unchanged.

The model of one stone given its site ``s`` and lot ``l``, in transformed
coordinates ``u = (ln N, delta13C, logit(%B / 100))``::

    e_l ~ Beta(c e_s, c (1 - e_s))                    (the lot's eclogitic share)
    u | s, l ~ (1 - e_l) sum_k a_k N(mu_sk, S_k)  +  e_l sum_k b_k N(mu_sk, S_k)
                 (peridotitic growth events k)         (eclogitic growth events k)

with site means ``mu_sk`` = published population centre + zone offset + site
offset, and full covariances ``S_k`` (nitrogen aggregates faster when there
is more of it, so ln N and logit %B covary positively; eclogitic diamonds
with light carbon carry less nitrogen, the "limit sector" of Cartigny, so ln
N and delta13C covary positively in the eclogitic population). Fields are
missing completely at random (%B needs a nitrogen-bearing FTIR spectrum that
a laboratory fits; delta13C needs SIMS/IRMS), so the density of the observed
sub-vector (the Gaussian marginals) is exact. Values outside the schema range
are redrawn; the schema range holds all but a negligible mass (below 1e-6
per stone with these parameters), which the density ignores.

:class:`RealisticDensity` gives the exact ``log p(stone | site)`` (the lot
share integrated out: a Beta mean) and the exact ``log p(parcel | zone)`` of
a parcel drawn from one lot of one site (the lot share integrated by
Gauss-Legendre quadrature on (0, 1), the site summed with its weight), so the
Bayes ceiling of any benchmark on this variant is known.

Population centres and spreads (published ranges, rounded; DOMAIN.md, "total
N", "%B" and "delta13C" rows, and the literature it cites):

- peridotitic: delta13C mode near -5 permil, narrow (most within -8 to -2;
  Cartigny 2005, Elements 1:79-84; Stachel & Harris 2008, Ore Geol. Rev.
  34:5-32); nitrogen median ~150 ppm, a low-nitrogen growth event near 20 ppm
  (type II-like; the Lei et al. global compilation in DOMAIN.md: quantiles
  0/27/175/542/890 ppm);
- eclogitic: delta13C broad, from about -2 down to -25 permil and beyond
  (Cartigny 2005; Stachel & Harris 2008), nitrogen higher (median ~400 ppm);
- %B: 0-100, alluvial examples mean ~37% (DOMAIN.md: Deng 2019, Brill 2020).

Zone and site offsets, the covariances and the lot drift are **estimates**:
no public stone-level data for the CAR zones exists (DOMAIN.md). Everything
generated here is labelled SYNTHETIC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, expit, logit, logsumexp

from ..exceptions import InputError

__all__ = ["REALISTIC_FIELDS", "RealisticDensity", "RealisticSpec", "generate_realistic",
           "write_realistic_set"]

#: The continuous fields of the variant (schema v1 names), in the order of ``u``.
REALISTIC_FIELDS = ("n_total_ppm", "d13c_permil", "n_b_percent")
_RANGES = {"n_total_ppm": (0.5, 5000.0), "d13c_permil": (-40.0, 10.0), "n_b_percent": (0.01, 99.99)}

# Population centres in u = (ln N, d13C, logit(%B/100)); spreads (sd) and correlations.
# name, paragenesis (0 = peridotitic, 1 = eclogitic), within-paragenesis share, mean, sd, corr (12, 13, 23)
_POPULATIONS: tuple[tuple[str, int, float, tuple[float, float, float], tuple[float, float, float],
                          tuple[float, float, float]], ...] = (
    ("peridotitic, main", 0, 0.75, (np.log(150.0), -5.0, logit(0.40)), (0.7, 1.3, 0.8), (0.20, 0.50, 0.0)),
    ("peridotitic, low-N", 0, 0.25, (np.log(20.0), -4.0, logit(0.65)), (0.6, 1.0, 0.7), (0.10, 0.30, 0.0)),
    ("eclogitic, main", 1, 0.70, (np.log(400.0), -9.0, logit(0.30)), (0.8, 3.5, 0.9), (0.45, 0.50, 0.15)),
    ("eclogitic, light-C", 1, 0.30, (np.log(120.0), -19.0, logit(0.20)), (0.8, 3.0, 0.9),
     (0.40, 0.45, 0.10)),
)


@dataclass(frozen=True)
class RealisticSpec:
    """Shape of a realistic SYNTHETIC reference set.

    Parameters
    ----------
    n_zones : int
        Number of zones (``Z01``, ``Z02`` ...).
    sites_per_zone : int
        Sites (mines) per zone.
    zone_offset_sd : tuple of float
        Spread of the zones' offsets of the population centres, per coordinate of ``u``.
    site_offset_sd : tuple of float
        Spread of a site's offsets around its zone's, per coordinate.
    eclogitic_share : tuple of float
        Beta(a, b) of a zone's eclogitic share; sites scatter around it with ``site_concentration``.
    site_concentration : float
        Beta concentration of a site's eclogitic share around its zone's.
    lot_concentration : float
        Beta concentration ``c`` of a lot's eclogitic share around its site's (the lot-to-lot drift).
    missing : dict
        Probability that each field is not measured (MCAR).
    fields : tuple of str
        The fields written (a subset of :data:`REALISTIC_FIELDS`; the others are not measured).
    """

    n_zones: int = 5
    sites_per_zone: int = 3
    zone_offset_sd: tuple[float, float, float] = (0.35, 1.2, 0.35)
    site_offset_sd: tuple[float, float, float] = (0.15, 0.5, 0.15)
    eclogitic_share: tuple[float, float] = (2.0, 2.0)
    site_concentration: float = 12.0
    lot_concentration: float = 15.0
    missing: dict[str, float] = field(default_factory=lambda: {"n_b_percent": 0.25, "d13c_permil": 0.10})
    fields: tuple[str, ...] = REALISTIC_FIELDS


class RealisticDensity:
    """Site parameters of a realistic variant and their exact densities.

    Parameters
    ----------
    spec : RealisticSpec
        Shape of the set.
    seed : int
        Seed of the zone and site parameters (not of the stones).

    Attributes
    ----------
    zones : list of str
        Zone names.
    sites : list of tuple of (str, str)
        (zone, site) of every site, zone by zone.
    site_zone : ndarray of int, shape (n_sites,)
        Zone index of each site.
    site_weight : ndarray, shape (n_sites,)
        Each site's share of its zone's production.
    eclogitic : ndarray, shape (n_sites,)
        Mean eclogitic share of each site's lots.
    means : ndarray, shape (n_sites, n_populations, 3)
        Population centres per site, in ``u``.
    covs : ndarray, shape (n_populations, 3, 3)
        Population covariances, in ``u``.
    """

    def __init__(self, spec: RealisticSpec | None = None, seed: int = 0) -> None:
        self.spec = spec or RealisticSpec()
        bad = [f for f in self.spec.fields if f not in REALISTIC_FIELDS]
        if bad or not self.spec.fields:
            raise InputError(f"realistic variant fields must be among {', '.join(REALISTIC_FIELDS)}, "
                             f"got {', '.join(self.spec.fields) or 'none'}")
        if self.spec.n_zones < 2 or self.spec.sites_per_zone < 1:
            raise InputError("the realistic variant needs at least 2 zones and 1 site per zone")
        rng = np.random.default_rng(np.random.SeedSequence([seed, 13]))
        s = self.spec
        self.zones = [f"Z{z + 1:02d}" for z in range(s.n_zones)]
        self.sites = [(zone, f"{zone}-S{k + 1}") for zone in self.zones for k in range(s.sites_per_zone)]
        self.site_zone = np.repeat(np.arange(s.n_zones), s.sites_per_zone)
        centre = np.array([p[3] for p in _POPULATIONS])
        self.paragenesis = np.array([p[1] for p in _POPULATIONS])
        self.within = np.array([p[2] for p in _POPULATIONS])
        sd = np.array([p[4] for p in _POPULATIONS])
        covs = []
        for p, scale in zip(_POPULATIONS, sd, strict=True):
            r12, r13, r23 = p[5]
            corr = np.array([[1.0, r12, r13], [r12, 1.0, r23], [r13, r23, 1.0]])
            covs.append(corr * np.outer(scale, scale))
        self.covs = np.array(covs)
        zone_off = rng.normal(0.0, s.zone_offset_sd, size=(s.n_zones, len(_POPULATIONS), 3))
        site_off = rng.normal(0.0, s.site_offset_sd, size=(len(self.sites), len(_POPULATIONS), 3))
        self.means = centre[None] + zone_off[self.site_zone] + site_off
        zone_e = rng.beta(*s.eclogitic_share, size=s.n_zones)
        self.eclogitic = np.clip(rng.beta(s.site_concentration * zone_e[self.site_zone],
                                          s.site_concentration * (1 - zone_e[self.site_zone])), 0.03, 0.97)
        raw = rng.gamma(4.0, 1.0, size=len(self.sites))
        self.site_weight = raw / np.bincount(self.site_zone, weights=raw)[self.site_zone]
        self.dims = [REALISTIC_FIELDS.index(f) for f in s.fields]

    # -- sampling ------------------------------------------------------------------------------
    def _draw_u(self, site: int, e: float, n: int, rng: np.random.Generator) -> np.ndarray:
        share = np.where(self.paragenesis == 1, e, 1.0 - e) * self.within
        out = np.empty((n, 3))
        filled = 0
        while filled < n:
            k = rng.choice(len(share), size=n - filled, p=share / share.sum())
            z = rng.standard_normal((n - filled, 3))
            chol = np.linalg.cholesky(self.covs)
            u = self.means[site, k] + np.einsum("nij,nj->ni", chol[k], z)
            values = self.to_values(u)
            ok = np.ones(len(u), dtype=bool)
            for j, name in enumerate(REALISTIC_FIELDS):
                lo, hi = _RANGES[name]
                ok &= (values[:, j] >= lo) & (values[:, j] <= hi)
            out[filled:filled + ok.sum()] = u[ok]
            filled += int(ok.sum())
        return out

    @staticmethod
    def to_values(u: np.ndarray) -> np.ndarray:
        """Field values (ppm, permil, %) from transformed coordinates, shape (n, 3)."""
        return np.column_stack([np.exp(u[:, 0]), u[:, 1], 100.0 * expit(u[:, 2])])

    @staticmethod
    def to_u(values: np.ndarray) -> np.ndarray:
        """Return transformed coordinates of field values (NaN stays NaN), shape (n, 3)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            b = values[:, 2] / 100.0
            return np.column_stack([np.log(values[:, 0]), values[:, 1], np.log(b) - np.log1p(-b)])

    def draw_lot(self, site: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Field values of ``n`` stones of one fresh lot of ``site`` (NaN = not measured), shape (n, 3)."""
        c = self.spec.lot_concentration
        e = rng.beta(c * self.eclogitic[site], c * (1 - self.eclogitic[site]))
        values = self.to_values(self._draw_u(site, e, n, rng))
        for j, name in enumerate(REALISTIC_FIELDS):
            if name not in self.spec.fields:
                values[:, j] = np.nan
            else:
                values[rng.random(n) < self.spec.missing.get(name, 0.0), j] = np.nan
        return values

    # -- exact densities -------------------------------------------------------------------------
    def _component_logpdf(self, values: np.ndarray) -> np.ndarray:
        """``log N(u_obs; mu_sk[obs], S_k[obs, obs])`` + the Jacobian, shape (n, n_sites, n_populations).

        Missing coordinates are marginalised exactly (the observed sub-vector's Gaussian).
        """
        u = self.to_u(values)
        n = len(u)
        out = np.zeros((n, len(self.sites), len(_POPULATIONS)))
        seen = np.isfinite(u)
        jac = np.zeros(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            jac -= np.where(seen[:, 0], u[:, 0], 0.0)  # d ln N / dN = 1 / N
            b = values[:, 2] / 100.0
            jac -= np.where(seen[:, 2], np.log(100.0 * b * (1 - b)), 0.0)
        patterns, inverse = np.unique(seen, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(np.ravel(inverse) == p)
            obs = np.flatnonzero(pattern)
            if not len(obs):
                continue
            x = u[np.ix_(rows, obs)]
            for k in range(len(_POPULATIONS)):
                cov = self.covs[k][np.ix_(obs, obs)]
                chol = np.linalg.cholesky(cov)
                diff = x[:, None, :] - self.means[None, :, k, obs]
                sol = np.linalg.solve(chol, diff.reshape(-1, len(obs)).T).T.reshape(diff.shape)
                out[rows, :, k] = (-0.5 * (sol**2).sum(-1) - np.log(np.diag(chol)).sum()
                                   - 0.5 * len(obs) * np.log(2 * np.pi))
        return out + jac[:, None, None]

    def _paragenesis_logpdf(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log density of each stone under each site's peridotitic and eclogitic mixtures, (n, n_sites)."""
        comp = self._component_logpdf(values)
        log_w = np.log(self.within)
        peri = logsumexp(comp[:, :, self.paragenesis == 0] + log_w[self.paragenesis == 0], axis=2)
        ecl = logsumexp(comp[:, :, self.paragenesis == 1] + log_w[self.paragenesis == 1], axis=2)
        return peri, ecl

    def stone_site_loglik(self, values: np.ndarray) -> np.ndarray:
        """Exact ``log p(stone | site)`` (the lot share integrated out), shape (n, n_sites)."""
        peri, ecl = self._paragenesis_logpdf(values)
        e = self.eclogitic[None, :]
        return np.logaddexp(np.log1p(-e) + peri, np.log(e) + ecl)

    def stone_zone_loglik(self, values: np.ndarray) -> np.ndarray:
        """Exact ``log p(stone | zone)`` (sites by their weight), shape (n, n_zones)."""
        site = self.stone_site_loglik(values) + np.log(self.site_weight)[None, :]
        return np.stack([logsumexp(site[:, self.site_zone == z], axis=1) for z in range(len(self.zones))],
                        axis=1)

    def parcel_zone_loglik(self, values: np.ndarray, parcel: np.ndarray, n_nodes: int = 96) -> np.ndarray:
        """Exact ``log p(parcel | zone)`` of parcels drawn from one lot of one site, (n_parcels, n_zones).

        Parameters
        ----------
        values : ndarray of shape (n_stones, 3)
            Field values (NaN = not measured), in :data:`REALISTIC_FIELDS` order.
        parcel : ndarray of int, shape (n_stones,)
            Parcel code of each stone (0 .. n_parcels - 1).
        n_nodes : int
            Gauss-Legendre nodes for the lot share (the integrand is smooth; 96 nodes agree
            with 400 to 1e-6 in log on the benchmark's parcels).
        """
        peri, ecl = self._paragenesis_logpdf(values)
        x, w = np.polynomial.legendre.leggauss(n_nodes)
        e = 0.5 * (x + 1.0)
        log_w = np.log(0.5 * w)
        c = self.spec.lot_concentration
        a, b = c * self.eclogitic, c * (1 - self.eclogitic)
        # log Beta(e; a_s, b_s) at every node, (n_nodes, n_sites)
        log_beta = ((a - 1)[None] * np.log(e)[:, None] + (b - 1)[None] * np.log1p(-e)[:, None]
                    - betaln(a, b)[None])
        n_parcels = int(parcel.max()) + 1
        out = np.empty((n_parcels, len(self.sites)))
        for s in range(len(self.sites)):
            # per stone and node: log((1 - e) f_P + e f_E)
            mix = np.logaddexp(np.log1p(-e)[None, :] + peri[:, s:s + 1], np.log(e)[None, :] + ecl[:, s:s + 1])
            sums = np.zeros((n_parcels, n_nodes))
            np.add.at(sums, parcel, mix)
            out[:, s] = logsumexp(sums + log_beta[:, s][None] + log_w[None], axis=1)
        site = out + np.log(self.site_weight)[None, :]
        return np.stack([logsumexp(site[:, self.site_zone == z], axis=1) for z in range(len(self.zones))],
                        axis=1)

    def sample_parcels(self, n_parcels: int, size: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fresh parcels (equal zone priors, sites by weight, one fresh lot each).

        Returns
        -------
        values : ndarray of shape (n_parcels * size, 3)
        parcel : ndarray of int, shape (n_parcels * size,)
        zone : ndarray of int, shape (n_parcels,)
            True zone index of each parcel.
        """
        zone = rng.integers(0, len(self.zones), size=n_parcels)
        blocks = []
        for z in zone:
            idx = np.flatnonzero(self.site_zone == z)
            site = int(rng.choice(idx, p=self.site_weight[idx]))
            blocks.append(self.draw_lot(site, size, rng))
        return np.vstack(blocks), np.repeat(np.arange(n_parcels), size), zone

    def frame(self, values: np.ndarray, **columns: Any) -> pd.DataFrame:
        """Return a stone table of ``values`` (the spec's fields) plus ``columns``, notes = SYNTHETIC."""
        out = pd.DataFrame(dict(columns))
        for j, name in enumerate(REALISTIC_FIELDS):
            if name in self.spec.fields:
                out[name] = np.round(values[:, j], 4)
        out["notes"] = "SYNTHETIC (realistic variant)"
        return out


def generate_realistic(spec: RealisticSpec | None = None, *, seed: int = 0, lots_per_site: int = 12,
                       stones_per_lot: int = 25, param_seed: int | None = None
                       ) -> tuple[pd.DataFrame, RealisticDensity]:
    """Draw a realistic SYNTHETIC reference set: stones of every site, lot by lot.

    Parameters
    ----------
    spec : RealisticSpec, optional
        Shape of the set (default :class:`RealisticSpec`).
    seed : int
        Seed of the stones.
    lots_per_site, stones_per_lot : int
        Reference lots per site and stones per lot.
    param_seed : int, optional
        Seed of the zone and site parameters (default: ``seed``).

    Returns
    -------
    stones : DataFrame
        ``sample_id, zone, site, lot_id`` and the spec's fields, ``notes`` = SYNTHETIC.
    density : RealisticDensity
        The exact density of the set (for Bayes ceilings and fresh parcels).
    """
    if lots_per_site < 1 or stones_per_lot < 1:
        raise InputError("lots_per_site and stones_per_lot must be at least 1")
    density = RealisticDensity(spec, seed if param_seed is None else param_seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 131]))
    blocks, meta = [], []
    for s, (zone, site) in enumerate(density.sites):
        for lot in range(lots_per_site):
            blocks.append(density.draw_lot(s, stones_per_lot, rng))
            meta += [(zone, site, f"{site}-L{lot + 1:03d}")] * stones_per_lot
    values = np.vstack(blocks)
    zones, sites, lots = (list(col) for col in zip(*meta, strict=True))
    stones = density.frame(values, sample_id=[f"RS{k + 1:06d}" for k in range(len(values))], zone=zones,
                           site=sites, lot_id=lots)
    return stones, density


def write_realistic_set(out_dir: str | Path, *, seed: int = 0, spec: RealisticSpec | None = None,
                        lots_per_site: int = 12, stones_per_lot: int = 25) -> dict[str, Any]:
    """Write a realistic SYNTHETIC reference set: ``stones.csv``, ``site_weights.csv``, ``README.txt``.

    Returns the paths written and the stone count.
    """
    from ._files import _prepare, _write_csv

    out = Path(out_dir)
    _prepare(out)
    stones, density = generate_realistic(spec, seed=seed, lots_per_site=lots_per_site,
                                         stones_per_lot=stones_per_lot)
    tag = f"realistic variant, seed={seed}"
    _write_csv(stones, out / "stones.csv", f"SYNTHETIC reference stones from footprint synth ({tag}); "
                                           "not real data")
    weights = pd.DataFrame({"zone": [z for z, _ in density.sites], "site": [s for _, s in density.sites],
                            "weight": np.round(density.site_weight, 6)})
    _write_csv(weights, out / "site_weights.csv",
               f"SYNTHETIC site production shares from footprint synth ({tag}); not real data")
    (out / "README.txt").write_text(
        "SYNTHETIC reference set, realistic variant (footprint synth reference --variant realistic).\n"
        "Parageneses per site (peridotitic and eclogitic populations with correlated nitrogen,\n"
        "delta13C and %B), lot-to-lot drift of the eclogitic share. Not real data: see\n"
        "footprint/synth/_realistic.py for the model and its sources.\n"
        f"seed={seed}, zones={len(density.zones)}, sites={len(density.sites)}, lots/site={lots_per_site}, "
        f"stones/lot={stones_per_lot}, stones={len(stones)}\n", encoding="utf-8", newline="\n")
    return {"stones": str(out / "stones.csv"), "site_weights": str(out / "site_weights.csv"),
            "readme": str(out / "README.txt"), "n_stones": len(stones)}
