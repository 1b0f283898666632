"""Lot-to-lot variation of a site: each collector lot has its own effect (pit, depth, season).

Shared by the reference generator (:func:`._generate.generate_reference`, ``lot_sd``) and the
export parcels (:func:`._export.generate_export_parcel`), so reference lots and export lots vary
the same way. The size of the effect is an **estimate**: no published figure gives it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._params import SiteParams

__all__ = ["lot_site"]

#: Numeric centres moved by a lot effect, with the spread they are scaled by.
_CENTRES = (("mass_ln_mu", "mass_ln_sigma"), ("n_ln_mu", "n_ln_sigma"), ("d13c_mu", "d13c_sd"))


def lot_site(site: SiteParams, lot_sd: float, rng: np.random.Generator) -> SiteParams:
    """Return the parameters of one lot of ``site`` (the site itself when ``lot_sd`` is 0).

    The log-normal and normal centres (mass, nitrogen, delta 13C) move by ``lot_sd`` times the
    field's spread; the category shares are drawn from a Dirichlet of concentration
    ``1 / lot_sd**2`` around the site's. ``lot_sd = 0`` draws nothing from ``rng``, so a
    generator without lot effects gives the same stones as before they existed.
    """
    if lot_sd <= 0:
        return site
    num = dict(site.num)
    for centre, spread in _CENTRES:
        num[centre] = num[centre] + lot_sd * num[spread] * rng.standard_normal()
    conc = 1.0 / lot_sd**2
    cat = {k: rng.dirichlet(np.maximum(conc * v, 1e-3)) if len(v) > 1 else v for k, v in site.cat.items()}
    return dataclasses.replace(site, num=num, cat=cat)
