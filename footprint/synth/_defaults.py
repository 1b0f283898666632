"""How the bundled generator parameters were built (``synth_params.json``).

The JSON file is the source of truth the generator and the density read; this
module is the documented recipe that wrote it, so that every number can be
traced: zone-level values come from ``shared/DOMAIN.md`` (sections 2, 4 and 6)
with their source, or carry the word "estimate"; site-level values are drawn
once around their zone's values with a fixed seed (:data:`SITE_SEED`) and
written to the file, so they are *not* re-drawn per run. A test checks that
:func:`build_default_params` reproduces the shipped file exactly.

Tuning (the W/E contrast). DOMAIN.md says the W/E differences are unknown and
should be modest: single stones weak evidence, parcels of tens of stones
strong. The zone values below were set so that the Bayes ceiling is about
62-66 % for one stone and >= 95 % for parcels of 25; every such W/E
difference is an estimate. Measured (``benchmarks/bench_ceiling.py``, 200,000
stones per size, equal priors): accuracy 0.647 / 0.821 / 0.909 / 0.985 /
0.999 and Cllr 0.89 / 0.56 / 0.31 / 0.054 / 0.004 for one stone and parcels
of 5 / 10 / 25 / 50. Site spread: sites of a zone differ enough that
multiplying zone-level stone marginals over a parcel is overconfident
(log loss x4 at 25 stones), as the DESIGN's "stones of a parcel share a site"
requires; the IPGP note "highly variable within a single mine" and the GSA
2015 "placer group has five sub-clusters" (DOMAIN.md 3.2, 3.1) support it.

Dependencies beyond the site: a carbonado's colour follows
``carbonado_colour`` (not the site's colour shares); the FTIR values depend
on N (see the sampler). Known simplifications: the other fields are
independent given the site; labs in ``mm_sieve_labs`` write the same DTC
sieve as its aperture in mm; FTIR values are all-or-nothing.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["SITE_SEED", "build_default_params"]

#: Seed of the one-off draw of site parameters around their zone's values.
SITE_SEED = 20261125

_EST = "estimate"
_D42 = "DOMAIN.md 4.2 (ESTIMATE log-normal, ln ct)"
_D6_MORPH = "DOMAIN.md 6 morphology row (proportions estimate); carbonado only in the West: jsjgeology"
_D6_COLOUR = "estimate; CAR mostly near-colourless with slight tint (valuae, DOMAIN.md 2.2/4.3)"
_D6_QUAL = "DOMAIN.md 6: CAR gem 0.70-0.80 (Censier & Lang 2001; IMF 2004); W/E split estimate"
_D6_SPOTS = "DOMAIN.md 6: radiation spots 10-35% of stones (valuae; estimate)"
_D6_FLUO = "DOMAIN.md 4.3: 25-35% fluoresce, ~97% of those blue (GIA 1997 sample)"
_D6_N = ("DOMAIN.md 6 total N: W median 250, E median 300 ppm, sigma_ln ~0.9, capped 600 "
         "(estimate; Brill 2020)")
_D6_B = "DOMAIN.md 6 %B: Beta(mean 0.40, sd 0.2) (estimate; Deng 2019 mean 37%)"
_D6_IIA = "DOMAIN.md 4.1: type IIa ~2% worldwide (Crystran; Deng 2019); CAR 'few' (Brill 2020)"
_D6_PLAT = ("DOMAIN.md 4.1: platelets 0.23-17 cm-1 peak height, mostly <2 (Crystals 2022); "
            "area = height x ~10 cm-1 width; grows with N_B (estimate)")
_D6_H = ("DOMAIN.md 4.1/6: P(3107 present) ~0.4-0.7 for N>100 ppm, rising with N; height 0.03-4.7 cm-1 "
         "(Crystals 2022); area estimate")
_D13C = "DOMAIN.md 6 d13C: global median -5.3 permil, Kasai -4.1 (Lei et al. compilation); sd estimate"


def _v(value: Any, source: str) -> dict[str, Any]:
    return {"value": value, "source": source}


def _cats(**probs: float) -> dict[str, float]:
    total = sum(probs.values())
    return {k: v / total for k, v in probs.items()}


# -- zone centres ------------------------------------------------------------------
# Each entry: parameter -> (value, source). Categorical values are dicts of
# probabilities over the schema vocabulary; ordinal grades use keys "0".."3".

_WEST: dict[str, tuple[Any, str]] = {
    "mass_ln_mu": (-1.90, _D42 + ": W mu -1.90 (W 'smaller', ordicadiamonds)"),
    "mass_ln_sigma": (1.0, _D42 + ": W sigma 1.0"),
    "colour": (_cats(colourless=0.42, light_yellow=0.22, yellow=0.05, light_brown=0.11, brown=0.06,
                     grey=0.05, green=0.07, other=0.02), _D6_COLOUR),
    "morphology": (_cats(octahedron=0.13, dodecahedron=0.50, cube=0.02, macle=0.08, irregular=0.23,
                         aggregate=0.01, carbonado=0.02), _D6_MORPH),
    "quality": (_cats(gem=0.70, near_gem=0.17, industrial=0.13), _D6_QUAL + " (W 0.72 -> 0.70)"),
    "radiation_spots": (_cats(none=0.80, green=0.15, brown=0.05), _D6_SPOTS),
    "fluorescence": (_cats(none=0.70, blue=0.285, yellow=0.008, green=0.004, other=0.003), _D6_FLUO),
    "resorption": (_cats(**{"0": 0.06, "1": 0.17, "2": 0.40, "3": 0.37}),
                   "estimate; 'most CAR stones strongly resorbed' (GemNantes >75%)"),
    "abrasion": (_cats(**{"0": 0.36, "1": 0.36, "2": 0.19, "3": 0.09}),
                 "estimate; alluvial abrasion common (Crystals 2022), E possibly higher (speculative)"),
    "coating_p": (0.28, "estimate; coatings 'very frequent' in CAR (aboutdiamond.com)"),
    "iia_p": (0.03, _D6_IIA),
    "n_ln_mu": (float(np.log(250.0)), _D6_N),
    "n_ln_sigma": (0.9, _D6_N),
    "n_max_ppm": (600.0, "DOMAIN.md 4.1: CAR parcels all < 600 ppm (Brill 2020)"),
    "b_mean": (0.38, _D6_B),
    "b_sd": (0.2, _D6_B),
    "platelet_p": (0.7, _EST),
    "platelet_ln_mu": (float(np.log(8.0)), _D6_PLAT),
    "platelet_ln_slope": (0.6, _D6_PLAT),
    "platelet_ln_sd": (0.7, _D6_PLAT),
    "h_logit": (0.2, _D6_H),
    "h_logit_slope": (0.8, _D6_H),
    "h_ln_mu": (float(np.log(1.5)), _D6_H),
    "h_ln_slope": (0.5, _D6_H),
    "h_ln_sd": (0.9, _D6_H),
    "d13c_mu": (-5.3, _D13C),
    "d13c_sd": (2.5, _D13C),
}


def _east() -> dict[str, tuple[Any, str]]:
    east = copy.deepcopy(_WEST)
    east.update({
        "mass_ln_mu": (-1.61, _D42 + ": E mu -1.61 (E mean ~0.3 ct/stone, BRGM/PASAD)"),
        "mass_ln_sigma": (1.1, _D42 + ": E sigma 1.1"),
        "colour": (_cats(colourless=0.38, light_yellow=0.22, yellow=0.06, light_brown=0.13, brown=0.08,
                         grey=0.05, green=0.06, other=0.02), _D6_COLOUR),
        "morphology": (_cats(octahedron=0.16, dodecahedron=0.46, cube=0.03, macle=0.08, irregular=0.26,
                             aggregate=0.01, carbonado=0.0), _D6_MORPH),
        "quality": (_cats(gem=0.75, near_gem=0.15, industrial=0.10), _D6_QUAL + " (E 0.75)"),
        "radiation_spots": (_cats(none=0.75, green=0.16, brown=0.09), _D6_SPOTS),
        "fluorescence": (_cats(none=0.66, blue=0.325, yellow=0.008, green=0.004, other=0.003), _D6_FLUO),
        "resorption": (_cats(**{"0": 0.05, "1": 0.15, "2": 0.39, "3": 0.41}),
                       "estimate; E older recycling (Kibaran, Censier & Lang 2001): more resorbed"),
        "abrasion": (_cats(**{"0": 0.31, "1": 0.35, "2": 0.22, "3": 0.12}),
                     "estimate; E possibly more abraded (longer recycling, DOMAIN.md 6, speculative)"),
        "coating_p": (0.33, "estimate; coatings 'very frequent' in CAR (aboutdiamond.com)"),
        "iia_p": (0.02, _D6_IIA),
        "n_ln_mu": (float(np.log(300.0)), _D6_N),
        "b_mean": (0.45, _D6_B + "; E more aggregated (older, estimate)"),
        "d13c_mu": (-5.0, _D13C + "; E estimate"),
    })
    return east


def _kasai() -> dict[str, tuple[Any, str]]:
    kasai = copy.deepcopy(_WEST)
    src_n = "DOMAIN.md 2.4: Kasai N median 190 ppm, q10-q90 80-420 (Kosman 2016 via Lei et al.)"
    kasai.update({
        "mass_ln_mu": (-2.5, _D42 + ": DRC-Kasai mu -2.5"),
        "mass_ln_sigma": (1.0, _D42 + ": DRC-Kasai sigma 1.0"),
        "colour": (_cats(colourless=0.30, light_yellow=0.20, yellow=0.10, light_brown=0.12, brown=0.12,
                         grey=0.10, green=0.04, other=0.02), _EST),
        "morphology": (_cats(octahedron=0.16, dodecahedron=0.36, cube=0.14, macle=0.08, irregular=0.24,
                             aggregate=0.02, carbonado=0.0),
                       "estimate; Mbuji-Mayi known for cuboid low-quality goods (MIBA)"),
        "quality": (_cats(gem=0.35, near_gem=0.25, industrial=0.40),
                    "estimate; DRC far lower quality, ~$16/ct (DOMAIN.md 2.4, 4.3)"),
        "coating_p": (0.45, _EST),
        "iia_p": (0.01, "DOMAIN.md 2.4: Kasai 'no N-free stones' (estimate 1%)"),
        "n_ln_mu": (float(np.log(190.0)), src_n),
        "n_ln_sigma": (0.65, src_n + " -> sigma_ln (ln420-ln80)/2.56"),
        "n_max_ppm": (1600.0, "DOMAIN.md 2.4: Mbuji-Mayi N up to 1,100-1,500 ppm"),
        "d13c_mu": (-4.1, _D13C),
    })
    return kasai


def _cameroon() -> dict[str, tuple[Any, str]]:
    cmr = copy.deepcopy(_WEST)
    cmr.update({
        "mass_ln_mu": (-2.3, _D42 + ": Cameroon-like mu -2.3"),
        "mass_ln_sigma": (0.9, _D42 + ": Cameroon-like sigma 0.9"),
        "morphology": (_cats(octahedron=0.15, dodecahedron=0.46, cube=0.03, macle=0.09, irregular=0.26,
                             aggregate=0.01, carbonado=0.0),
                       "estimate; detrital hosts as in CAR (DOMAIN.md 2.4)"),
        "quality": (_cats(gem=0.62, near_gem=0.20, industrial=0.18), _EST),
    })
    return cmr


#: zone -> (country ISO3, is a reference zone, sites {site: (weight, code)})
_ZONES: dict[str, dict[str, Any]] = {
    "CAR-West": {
        "country": "CAF", "reference": True, "centre": _WEST,
        "sites": {"Berberati": (0.30, "BER"), "Carnot": (0.20, "CAR"), "Nola": (0.20, "NOL"),
                  "Boda": (0.15, "BOD"), "Gadzi": (0.15, "GAD")},
    },
    "CAR-East": {
        "country": "CAF", "reference": True, "centre": _east(),
        "sites": {"Bria": (0.45, "BRI"), "Sam-Ouandja": (0.35, "SAM"), "Ouadda": (0.20, "OUA")},
    },
    "DRC-Kasai": {
        "country": "COD", "reference": False, "centre": _kasai(),
        "sites": {"Tshikapa": (0.6, "TSH"), "Mbuji-Mayi": (0.4, "MBU")},
    },
    "CMR": {
        "country": "CMR", "reference": False, "centre": _cameroon(),
        "sites": {"Mobilong": (1.0, "MOB")},
    },
}

# Site spread around the zone centre (estimates): Dirichlet concentration for
# categorical shares, normal sd for numeric parameters (not listed: fixed).
_DIRICHLET_KAPPA = 80.0
_NUMERIC_SD = {"mass_ln_mu": 0.2, "n_ln_mu": 0.25, "b_mean": 0.05, "coating_p": 0.06, "iia_p": 0.005,
               "d13c_mu": 0.4}
_SITE_SRC = (f"estimate: drawn once around the zone centre (seed {SITE_SEED}; categorical shares "
             f"Dirichlet(kappa={_DIRICHLET_KAPPA:g} x centre), numeric centre + N(0, sd) with sd from "
             "site_spread)")


def _draw_site(rng: np.random.Generator, centre: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """Draw one site's parameters around its zone centre."""
    out: dict[str, Any] = {}
    for name, (value, _source) in centre.items():
        if isinstance(value, dict):
            keys = list(value)
            alpha = np.array([value[k] for k in keys]) * _DIRICHLET_KAPPA
            probs = np.zeros(len(keys))
            live = alpha > 0  # a share of exactly 0 (carbonado in the East) stays 0
            probs[live] = rng.dirichlet(alpha[live])
            rounded = np.round(probs, 5)
            rounded[np.argmax(rounded)] += 1.0 - rounded.sum()  # exact sum 1 after rounding
            out[name] = {k: round(float(p), 5) for k, p in zip(keys, rounded, strict=True)}
        elif name in _NUMERIC_SD:
            drawn = float(value) + rng.normal(0.0, _NUMERIC_SD[name])
            if name.endswith("_p") or name == "b_mean":
                drawn = min(max(drawn, 0.001), 0.999)
            out[name] = round(drawn, 5)
        else:
            out[name] = round(float(value), 6)
    return out


def _price_book_shape() -> dict[str, Any]:
    """Return the SYNTHETIC price book's shape, the one home of the bundled book and the declared values."""
    rises = ("estimate: rough value per carat rises steeply with stone size and quality (price "
             "books by size, quality and colour: KP valuation forums 2016, DOMAIN.md 5 item 6)")
    return {
        "description": ("SYNTHETIC, NOT real prices: usd_per_ct = base x (carats per stone / ref_ct)"
                        "^exponent x quality factor x colour factor. footprint/data/"
                        "price_book_synthetic.csv is this shape at each size class's nominal carats "
                        "(footprint/data/size_classes.csv); a test keeps the two equal. Unknown "
                        "qualities price as near_gem, unknown colours as other."),
        "base_usd_per_ct": _v(140.0, "estimate: puts the synthetic CAR-West parcels at about US$200/ct, "
                                     "inside the published CAR averages ($169/ct 2012, $227/ct 2019 KP; "
                                     "DOMAIN.md 2.2)"),
        "ref_ct": _v(0.2, "estimate: the stone mass at which the base applies"),
        "exponent": _v(0.8, rises),
        "quality": _v({"gem": 1.0, "near_gem": 0.3, "industrial": 0.03},
                      "estimate: gem vs industrial goods, CAR ~US$170-230/ct against DRC ~US$16-18/ct "
                      "(DOMAIN.md 2.2 and 4.4)"),
        "colour": _v({"colourless": 1.0, "light_yellow": 0.8, "green": 0.75, "yellow": 0.6,
                      "light_brown": 0.55, "other": 0.5, "grey": 0.4, "brown": 0.35}, rises),
        "band_factor": _v(1.25, "estimate: the book's low and high are usd_per_ct / 1.25 and x 1.25"),
    }


def _global_block() -> dict[str, Any]:
    return {
        "recovery_cutoff_ct": _v(0.03, "DOMAIN.md 4.2: ESTIMATE ~0.02-0.05 ct (1-1.5 mm jig/sieve recovery)"),
        "mass_to_sieve": {
            "description": ("A stone is retained on the largest DTC sieve whose aperture (footprint.schema."
                            "sieve_to_mm) is <= its equivalent-sphere diameter d = (6 m / (pi rho f))^(1/3),"
                            " m in g; stones below sieve +1 go on +1, sieve +23 takes all above."),
            "density_g_cm3": _v(3.515, "diamond density (standard value)"),
            "grams_per_ct": _v(0.2, "metric carat definition"),
            "shape_factor": _v(1.0, "estimate: volume / sphere-of-sieve-diameter volume"),
        },
        "price_book_shape": _price_book_shape(),
        "carbonado_colour": _v(_cats(grey=0.75, other=0.2, brown=0.05),
                               "estimate: carbonado is black to dark grey polycrystalline diamond "
                               "(jsjgeology); 'other' stands for black"),
        "n_min_ppm": _v(10.0, "estimate: FTIR detection limit for N; below it a stone is type IIa"),
        "aggregation_type_cuts_percent": _v([10.0, 90.0],
                                            "estimate: %B < 10 -> IaA, > 90 -> IaB, else IaAB"),
        "missing_probability": {
            "description": "MCAR, independent of zone and site; the FTIR block is all or nothing",
            "mass_ct": _v(0.08, "estimate: sieve class reported instead of mass"),
            "sieve_class": _v(0.35, "estimate"),
            "colour": _v(0.03, "estimate"),
            "morphology": _v(0.03, "estimate"),
            "quality": _v(0.05, "estimate"),
            "resorption": _v(0.15, "estimate"),
            "abrasion": _v(0.15, "estimate"),
            "radiation_spots": _v(0.10, "estimate"),
            "coating": _v(0.10, "estimate"),
            "fluorescence": _v(0.20, "estimate"),
            "ftir": _v(0.75, "DOMAIN.md: FTIR on a minority of stones (estimate 25%)"),
            "d13c_permil": _v(0.95, "DOMAIN.md 1.3: d13C not routine in KP work (estimate 5%)"),
        },
        "provenance": {
            "labs": _v(["Mintek", "BECDOR Bangui", "HRD Antwerp", "SYNTH-LAB"],
                       "estimate: Mintek (DOMAIN.md 1.3) and plausible CAR/Antwerp labs"),
            "mm_sieve_labs": _v(["HRD Antwerp"],
                                "estimate: some labs give the sieve as its aperture in mm (WDC 2007: "
                                "'exporters use different sieve sizing'; DOMAIN.md 1.2)"),
            "cleaning_state": _v({"unwashed": 0.5, "acid_rinsed": 0.3, "acid_boiled": 0.2},
                                 "estimate; WDC 2007: three appearances (deep boiled, rinsed, unwashed)"),
            "collected_years": _v([2016, 2024], "DOMAIN.md 2.3: compliant zones from 2016"),
        },
        "site_spread": {
            "dirichlet_kappa": _v(_DIRICHLET_KAPPA, "estimate"),
            **{name: _v(sd, "estimate") for name, sd in _NUMERIC_SD.items()},
        },
    }


def build_default_params(seed: int = SITE_SEED) -> dict[str, Any]:
    """Return the bundled parameter document (what ``synth_params.json`` holds).

    Parameters
    ----------
    seed : int
        Seed of the one-off site draw; the shipped file uses :data:`SITE_SEED`.

    Returns
    -------
    dict
        JSON-ready document; every number sits in a ``{"value", "source"}`` pair.
    """
    rng = np.random.default_rng(seed)
    zones: dict[str, Any] = {}
    for zone, spec in _ZONES.items():
        centre = spec["centre"]
        sites = {}
        for site, (weight, code) in spec["sites"].items():
            drawn = _draw_site(rng, centre)
            sites[site] = {
                "code": code,
                "weight": _v(weight, "estimate: share of the zone's production"),
                "params": {name: _v(val, _SITE_SRC if name in _NUMERIC_SD or isinstance(val, dict)
                                    else centre[name][1]) for name, val in drawn.items()},
            }
        zones[zone] = {
            "country": spec["country"],
            "reference": spec["reference"],
            "centre": {name: _v(val, src) for name, (val, src) in centre.items()},
            "sites": sites,
        }
    return {
        "synthetic": True,
        "format_version": 1,
        "title": "SYNTHETIC footprint generator parameters (CAR-West / CAR-East and neighbours)",
        "note": ("Every number is a {value, source} pair; 'estimate' marks a judgement. Built by "
                 "footprint.synth._defaults.build_default_params; site values are fixed here, "
                 "never re-drawn per run. No public CAR stone-level data exists (DOMAIN.md 4)."),
        "site_seed": _v(seed, "estimate: arbitrary fixed seed of the one-off site draw"),
        **_global_block(),
        "zones": zones,
    }
