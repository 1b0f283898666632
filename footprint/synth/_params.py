"""Generator parameters: load, validate and expose ``synth_params.json``.

The file is a document of ``{"value", "source"}`` pairs (see
:mod:`footprint.synth._defaults` for how it was built). :class:`SynthParams`
parses it into per-site parameter records with the categorical shares as
arrays in schema vocabulary order, which both the sampler and the exact
density read, so the two cannot disagree on what a parameter means.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._schema import get_field, sieve_to_mm
from ..exceptions import InputError, Problem

__all__ = ["CATEGORICAL", "ORDINAL", "PriceShape", "SiteParams", "SynthParams", "load_params"]

#: Categorical stone fields and their vocabularies (schema v1 order).
CATEGORICAL: dict[str, tuple[str, ...]] = {
    name: get_field(name).vocabulary
    for name in ("colour", "morphology", "quality", "radiation_spots", "fluorescence")
}
#: Ordinal grades 0..3, stored as integers and modelled as categorical.
ORDINAL: dict[str, tuple[str, ...]] = {"resorption": ("0", "1", "2", "3"), "abrasion": ("0", "1", "2", "3")}

_NUMERIC = ("mass_ln_mu", "mass_ln_sigma", "coating_p", "iia_p", "n_ln_mu", "n_ln_sigma", "n_max_ppm",
            "b_mean", "b_sd", "platelet_p", "platelet_ln_mu", "platelet_ln_slope", "platelet_ln_sd",
            "h_logit", "h_logit_slope", "h_ln_mu", "h_ln_slope", "h_ln_sd", "d13c_mu", "d13c_sd")

_DTC_SIEVES = np.arange(1, 24)


@dataclass(frozen=True)
class SiteParams:
    """Parameters of one site (one mixture component of its zone).

    Attributes
    ----------
    zone, site, code, country : str
        Labels; ``code`` is the 3-letter site code used in lot ids.
    weight : float
        Share of the site within its zone (weights of a zone sum to 1).
    reference : bool
        Whether the zone is a reference zone (CAR-West / CAR-East).
    num : dict of str to float
        Numeric parameters (log-normal mu/sigma, probabilities, slopes).
    cat : dict of str to ndarray
        Category shares for each categorical/ordinal field, in vocabulary order.
    """

    zone: str
    site: str
    code: str
    country: str
    weight: float
    reference: bool
    num: dict[str, float]
    cat: dict[str, np.ndarray]

    @property
    def beta_ab(self) -> tuple[float, float]:
        """Beta(a, b) shape parameters of the aggregation fraction from its mean and sd."""
        m, s = self.num["b_mean"], self.num["b_sd"]
        nu = m * (1.0 - m) / s**2 - 1.0
        return m * nu, (1.0 - m) * nu


@dataclass(frozen=True)
class PriceShape:
    """The SYNTHETIC price book's shape (``price_book_shape`` in ``synth_params.json``).

    ``usd_per_ct = base x (carats per stone / ref_ct) ** exponent x quality factor x colour factor``:
    the bundled ``price_book_synthetic.csv`` is this shape at each size class's nominal carats, and
    the generator's declared values price each true stone with it, so the two cannot drift apart.

    Attributes
    ----------
    base_usd_per_ct, ref_ct, exponent : float
        US$/ct of a ``ref_ct`` stone of factor 1, and how steeply it rises with mass.
    quality, colour : dict of str to float
        Multiplicative factors; unknown qualities price as ``near_gem``, unknown colours as ``other``.
    band_factor : float
        The book's ``low`` and ``high`` are ``usd_per_ct`` divided and multiplied by it.
    """

    base_usd_per_ct: float
    ref_ct: float
    exponent: float
    quality: dict[str, float]
    colour: dict[str, float]
    band_factor: float

    def usd_per_ct(self, mass_ct: np.ndarray, quality: np.ndarray, colour: np.ndarray) -> np.ndarray:
        """US$ per carat of stones of these masses, qualities and colours (NaN where the mass is)."""
        q = np.array([self.quality.get(str(v), self.quality["near_gem"]) for v in quality], dtype=float)
        c = np.array([self.colour.get(str(v), self.colour["other"]) for v in colour], dtype=float)
        mass = np.asarray(mass_ct, dtype=float)
        return self.base_usd_per_ct * (mass / self.ref_ct) ** self.exponent * q * c


@dataclass(frozen=True)
class SynthParams:
    """Parsed generator parameters.

    Attributes
    ----------
    document : dict
        The JSON document as loaded (``{"value", "source"}`` pairs).
    sites : list of SiteParams
        Every site of every zone, reference zones first, in file order.
    cutoff_ct : float
        Recovery cut-off: masses are log-normal truncated below it.
    sieve_edges_ct : ndarray of shape (23,)
        Lower mass edge of DTC sieves +1..+23 (``-inf``-like 0 for +1).
    missing : dict of str to float
        MCAR probability that each field (or the FTIR block) is not reported.
    n_min_ppm : float
        FTIR nitrogen detection limit; below it a stone is type IIa.
    type_cuts : (float, float)
        %B limits of IaA and IaB.
    price_shape : PriceShape
        The SYNTHETIC price book's shape (declared values of synthetic parcels).
    carbonado_colour : ndarray
        Colour shares of carbonado stones (schema colour order).
    provenance : dict
        Labs, cleaning states and years for provenance fields.
    """

    document: dict[str, Any]
    sites: list[SiteParams]
    cutoff_ct: float
    sieve_edges_ct: np.ndarray
    missing: dict[str, float]
    n_min_ppm: float
    type_cuts: tuple[float, float]
    price_shape: PriceShape
    carbonado_colour: np.ndarray
    provenance: dict[str, Any] = field(repr=False)

    @property
    def zones(self) -> list[str]:
        """Every zone, in file order."""
        return list(dict.fromkeys(s.zone for s in self.sites))

    @property
    def reference_zones(self) -> list[str]:
        """Zones the reference set covers (CAR-West, CAR-East)."""
        return list(dict.fromkeys(s.zone for s in self.sites if s.reference))

    def zone_sites(self, zone: str) -> list[SiteParams]:
        """Return the sites of ``zone``."""
        return [s for s in self.sites if s.zone == zone]

    def site(self, zone: str, site: str) -> SiteParams:
        """Return one site's parameters."""
        for s in self.sites:
            if s.zone == zone and s.site == site:
                return s
        raise KeyError(f"no site {site!r} in zone {zone!r}")

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of the document (identifies the parameter set)."""
        text = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _val(block: dict[str, Any]) -> Any:
    return block["value"]


def _shares(mapping: dict[str, float], vocab: tuple[str, ...]) -> np.ndarray:
    """Shares in vocabulary order (absent words get 0), normalised to sum 1."""
    out = np.array([float(mapping.get(word, 0.0)) for word in vocab])
    return out / out.sum()


def _price_shape(block: dict[str, Any]) -> PriceShape:
    return PriceShape(
        base_usd_per_ct=float(_val(block["base_usd_per_ct"])), ref_ct=float(_val(block["ref_ct"])),
        exponent=float(_val(block["exponent"])),
        quality={k: float(v) for k, v in _val(block["quality"]).items()},
        colour={k: float(v) for k, v in _val(block["colour"]).items()},
        band_factor=float(_val(block["band_factor"])))


def _sieve_edges(doc: dict[str, Any]) -> np.ndarray:
    """Mass (ct) of the equivalent sphere whose diameter is each DTC sieve aperture."""
    rel = doc["mass_to_sieve"]
    rho, g_per_ct, shape = (_val(rel[k]) for k in ("density_g_cm3", "grams_per_ct", "shape_factor"))
    d_mm = np.array([sieve_to_mm(f"dtc:+{n}") for n in _DTC_SIEVES])
    grams = math.pi / 6.0 * (d_mm / 10.0) ** 3 * rho * shape
    edges = grams / g_per_ct
    edges[0] = 0.0  # stones below sieve +1 are kept on +1
    return edges


def _problems(doc: dict[str, Any], path: str) -> list[Problem]:
    """Check shares sum to 1, weights sum to 1 and values are in range."""
    out: list[Problem] = []
    for zone, zblock in doc["zones"].items():
        weights = [_val(s["weight"]) for s in zblock["sites"].values()]
        if abs(sum(weights) - 1.0) > 1e-9:
            out.append(Problem(path, None, f"zones.{zone}.sites.*.weight", weights, "must sum to 1"))
        for site, sblock in zblock["sites"].items():
            params = sblock["params"]
            for name, vocab in {**CATEGORICAL, **ORDINAL}.items():
                shares = _val(params[name])
                where = f"zones.{zone}.sites.{site}.params.{name}"
                if set(shares) != set(vocab):
                    out.append(Problem(path, None, where, sorted(shares), f"keys must be {list(vocab)}"))
                elif abs(sum(shares.values()) - 1.0) > 1e-6 or min(shares.values()) < 0:
                    out.append(Problem(path, None, where, shares, "shares must be >= 0 and sum to 1"))
            for name in _NUMERIC:
                if name not in params:
                    out.append(Problem(path, None, f"zones.{zone}.sites.{site}.params", None,
                                       f"missing numeric parameter '{name}'"))
    return out


def _parse(doc: dict[str, Any], path: str) -> SynthParams:
    problems = _problems(doc, path)
    if problems:
        raise InputError(f"invalid synth parameters in {path}", problems)
    sites = []
    ordered = sorted(doc["zones"].items(), key=lambda kv: not kv[1]["reference"])  # stable
    for zone, zblock in ordered:
        for site, sblock in zblock["sites"].items():
            params = sblock["params"]
            cat = {name: np.array([_val(params[name])[k] for k in vocab], dtype=float)
                   for name, vocab in {**CATEGORICAL, **ORDINAL}.items()}
            cat = {k: v / v.sum() for k, v in cat.items()}
            sites.append(SiteParams(
                zone=zone, site=site, code=sblock["code"], country=zblock["country"],
                weight=float(_val(sblock["weight"])), reference=bool(zblock["reference"]),
                num={name: float(_val(params[name])) for name in _NUMERIC}, cat=cat,
            ))
    prov = {k: _val(v) for k, v in doc["provenance"].items()}
    cuts = _val(doc["aggregation_type_cuts_percent"])
    return SynthParams(
        document=doc, sites=sites, cutoff_ct=float(_val(doc["recovery_cutoff_ct"])),
        sieve_edges_ct=_sieve_edges(doc),
        missing={k: float(_val(v)) for k, v in doc["missing_probability"].items() if k != "description"},
        n_min_ppm=float(_val(doc["n_min_ppm"])), type_cuts=(float(cuts[0]), float(cuts[1])),
        price_shape=_price_shape(doc["price_book_shape"]),
        carbonado_colour=_shares(_val(doc["carbonado_colour"]), CATEGORICAL["colour"]),
        provenance=prov,
    )


def load_params(path: str | Path | None = None) -> SynthParams:
    """Load generator parameters.

    Parameters
    ----------
    path : str or Path, optional
        A ``synth_params.json``; default: the bundled copy in ``footprint/data``.

    Returns
    -------
    SynthParams

    Raises
    ------
    InputError
        If the file is not valid JSON or breaks a rule (shares not summing to
        1, a missing parameter); every problem is listed.
    """
    if path is None:
        text = resources.files("footprint").joinpath("data/synth_params.json").read_text("utf-8")
        where = "footprint/data/synth_params.json"
    else:
        where = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {where}: {exc}",
                             [Problem(where, None, None, None, "file must exist and be readable")]) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON",
                         [Problem(where, exc.lineno, None, None, f"JSON syntax: {exc.msg}")]) from exc
    return _parse(doc, where)
