"""SYNTHETIC export parcels: several sites of a zone in Dirichlet shares, lots with their own effects.

A buying house makes an export parcel from many collectors' lots: stones of
several sites of one zone in unknown shares. :func:`generate_export_parcel`
draws one such parcel with known truth:

- the sites of the zone: one site (with probability ``single_site``, chosen by
  production share) or a random subset of two or more in Dirichlet(1) shares;
- each site's stones come in collector lots of ``lot_size`` stones; with
  ``lot_sd > 0`` every lot has its own effect (lot-to-lot variation: pit,
  depth, season): its log-normal and normal centres (mass, nitrogen, delta
  13C) move by ``lot_sd`` times the field's spread and its category shares
  are drawn from a Dirichlet of concentration ``1 / lot_sd**2`` around the
  site's (estimate: no published figure);
- ``foreign`` stones (a top-up) from another zone's sites, and ``exclude``
  sites (a West site left out of the reference: a new mine in a known zone).

Everything it returns is SYNTHETIC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._generate import apply_missingness, sample_site_stones
from ._lots import lot_site
from ._params import SiteParams, SynthParams

__all__ = ["generate_export_parcel"]

def _site_stones(sites: list[SiteParams], counts: np.ndarray, params: SynthParams, lot_size: int,
                 lot_sd: float, rng: np.random.Generator) -> pd.DataFrame:
    frames = []
    for site, count in zip(sites, counts, strict=True):
        left = int(count)
        while left > 0:
            take = min(left, lot_size)
            frames.append(sample_site_stones(lot_site(site, lot_sd, rng), params, take, rng).assign(
                zone=site.zone, site=site.site))
            left -= take
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _shares(sites: list[SiteParams], rng: np.random.Generator, single_site: float) -> np.ndarray:
    weight = np.array([s.weight for s in sites], dtype=float)
    weight /= weight.sum()
    shares = np.zeros(len(sites))
    if len(sites) == 1 or rng.random() < single_site:
        shares[rng.choice(len(sites), p=weight)] = 1.0
    else:
        k = int(rng.integers(2, len(sites) + 1))
        chosen = rng.choice(len(sites), size=k, replace=False)
        shares[chosen] = rng.dirichlet(np.ones(k))
    return shares


def generate_export_parcel(params: SynthParams, zone: str, size: int, rng: np.random.Generator, *,
                           foreign_zone: str | None = None, foreign_fraction: float = 0.0,
                           exclude: tuple[str, ...] = (), only: tuple[str, ...] = (), lot_size: int = 40,
                           lot_sd: float = 0.0, single_site: float = 0.5) -> tuple[pd.DataFrame, dict]:
    """Draw one SYNTHETIC export parcel (observed stones, missingness applied) and its truth.

    Parameters
    ----------
    params : SynthParams
        Generator parameters.
    zone : str
        Zone of the parcel's own stones.
    size : int
        Stones in the parcel.
    rng : Generator
        Random source.
    foreign_zone : str, optional
        Zone of the topped-up stones.
    foreign_fraction : float
        Share of topped-up stones (rounded to whole stones).
    exclude : tuple of str
        Sites of ``zone`` never used.
    only : tuple of str
        When given, the only sites of ``zone`` used.
    lot_size, lot_sd : int, float
        Collector-lot size and lot-to-lot variation (see the module docstring).
    single_site : float
        Probability that the own stones come from one site.

    Returns
    -------
    stones : DataFrame
        Observed stones (``zone``/``site`` truth columns included; drop them before assessing).
    truth : dict
        ``zone, sites (site -> count), foreign_zone, n_foreign, foreign_fraction, synthetic``.
    """
    sites = [s for s in params.zone_sites(zone) if s.site not in exclude and (not only or s.site in only)]
    n_foreign = int(round(foreign_fraction * size)) if foreign_zone else 0
    own = _site_stones(sites, rng.multinomial(size - n_foreign, _shares(sites, rng, single_site)), params,
                       lot_size, lot_sd, rng)
    parts = [own]
    if n_foreign and foreign_zone is not None:
        fsites = params.zone_sites(foreign_zone)
        parts.append(_site_stones(fsites, rng.multinomial(n_foreign, _shares(fsites, rng, single_site)),
                                  params, lot_size, lot_sd, rng))
    truth_frame = pd.concat(parts, ignore_index=True)
    truth_frame = truth_frame.iloc[rng.permutation(len(truth_frame))].reset_index(drop=True)
    labels = truth_frame[["zone", "site"]]
    observed = apply_missingness(truth_frame.drop(columns=["zone", "site"]), params, rng)
    observed = pd.concat([observed.reset_index(drop=True), labels], axis=1)
    counts = labels[labels["zone"] == zone]["site"].value_counts().to_dict()
    return observed, {"zone": zone, "sites": counts, "foreign_zone": foreign_zone, "n_foreign": n_foreign,
                      "foreign_fraction": n_foreign / size if size else 0.0, "synthetic": True}
