"""Size classes of rough diamonds: four systems, one carat axis.

An assortment gives carats and stones per **size class**. Four systems are
read, always written with their system prefix once normalised:

``dtc:+11``
    DTC (trade) sieve numbers +1..+23 (halves such as ``+6.5`` allowed): a
    stone is retained on the largest sieve it does not pass.
``mm:2.50``
    Sieve plates named by their aperture in mm (0.3..30 mm).
``gr:4``
    Grainers: 1 grain = 0.25 ct (the trade's grainer, "a 4-grainer is about a
    carat"); a ``gr:N`` stone weighs (N - 0.5) / 4 to (N + 0.5) / 4 ct.
``ct:1-2`` / ``ct:10+``
    Carat classes: stones of ``low`` ct up to ``high`` ct (``10+``: 10 ct and
    above).

Conversions
-----------
Sieve numbers and apertures are tied by :func:`footprint._schema.sieve_to_mm`
(an ESTIMATE interpolated from common sieve charts; the trade bands follow
SRDC, *Polished Diamond Grading*, p. 24). Sieves and carats are tied by the
table ``footprint/data/size_classes.csv``: for each DTC sieve, the carats per
stone of a stone retained on it (low, nominal, high), from the
equivalent-sphere relation the synthetic generator also uses
(``synth_params.json`` ``mass_to_sieve``: diamond density 3.515 g/cm3,
metric carat 0.2 g). **Sieve systems differ between producers** (WDC 2007;
the KP Ghana mission: "exporters use different sieve sizing"; shared DOMAIN
1.2): this table is the one documented convention, an ESTIMATE, to be
replaced by a producer's chart when one is available. Grainers and carat
classes convert exactly to carats; carats convert to the sieve whose carat
range holds them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .._schema import _mm_to_dtc_number, normalise_sieve, sieve_to_mm
from ..exceptions import SchemaError

__all__ = [
    "CT_PER_GRAIN",
    "SIZE_SYSTEMS",
    "SizeClass",
    "convert_size_class",
    "parse_size_class",
    "sieve_carats",
    "sieve_for_carats",
    "size_table",
]

#: Carats per grain (the grainer of the rough trade).
CT_PER_GRAIN = 0.25
#: The size-class systems read, prefix -> description.
SIZE_SYSTEMS = {
    "dtc": "DTC sieve number +1..+23 ('dtc:+11')",
    "mm": "sieve aperture in mm ('mm:2.50')",
    "gr": "grainers, 1 gr = 0.25 ct ('gr:4')",
    "ct": "carat class, low-high or low+ ('ct:1-2', 'ct:10+')",
}


@dataclass(frozen=True)
class SizeClass:
    """One size class, normalised, with its carats-per-stone range.

    Attributes
    ----------
    label : str
        Normalised label (``'dtc:+11'``, ``'mm:2.50'``, ``'gr:4'``, ``'ct:1-2'``).
    system : str
        One of :data:`SIZE_SYSTEMS`.
    ct_low, ct_nominal, ct_high : float
        Carats per stone of the class: range and nominal value (``ct_high``
        is ``inf`` for an open carat class).
    sieve : str or None
        The normalised sieve class (``sieve_class`` field) for ``dtc`` and
        ``mm`` classes; None for grainers and carat classes.
    """

    label: str
    system: str
    ct_low: float
    ct_nominal: float
    ct_high: float
    sieve: str | None = None

    def contains(self, carats_per_stone: float, tolerance: float = 0.0) -> bool:
        """Whether a mean mass per stone lies in the class (relative ``tolerance`` on both ends)."""
        return self.ct_low * (1 - tolerance) <= carats_per_stone <= self.ct_high * (1 + tolerance)


@lru_cache(maxsize=1)
def size_table() -> dict[str, np.ndarray]:
    """Return ``footprint/data/size_classes.csv`` as arrays.

    Keys: dtc_sieve, aperture_mm, ct_low, ct_nominal, ct_high.
    """
    text = resources.files("footprint").joinpath("data/size_classes.csv").read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    header, body = rows[0], rows[1:]
    out = {name: np.array([float(r[k]) for r in body]) for k, name in enumerate(header)}
    return out


def _interp_ct(sieve_number: float, column: str) -> float:
    table = size_table()
    # Log-linear between table rows (masses grow about as the cube of the aperture).
    return float(np.exp(np.interp(sieve_number, table["dtc_sieve"], np.log(table[column]))))


def _dtc_number(sieve: str) -> float:
    system, _, number = sieve.partition(":")
    return float(number) if system == "dtc" else _mm_to_dtc_number(float(number))


def sieve_carats(sieve: str) -> tuple[float, float, float]:
    """Carats per stone (low, nominal, high) of a normalised sieve class (``dtc:+N`` or ``mm:X``).

    Read from ``footprint/data/size_classes.csv`` (log-linear between its rows; an mm
    aperture goes through its position on the DTC axis).
    """
    n = _dtc_number(sieve)
    return _interp_ct(n, "ct_low"), _interp_ct(n, "ct_nominal"), _interp_ct(n, "ct_high")


def sieve_for_carats(carats_per_stone: float, system: str = "dtc") -> str:
    """Return the sieve class whose carat range holds ``carats_per_stone`` (``dtc:+N`` or ``mm:X.XX``).

    Below sieve +1 the stone is put on +1 and above +23 on +23, as sieving does.
    """
    if not carats_per_stone > 0:
        raise SchemaError(f"carats per stone must be > 0, got {carats_per_stone}")
    table = size_table()
    k = int(np.searchsorted(table["ct_low"], carats_per_stone, side="right")) - 1
    k = min(max(k, 0), len(table["ct_low"]) - 1)
    number = int(table["dtc_sieve"][k])
    if system == "mm":
        return f"mm:{table['aperture_mm'][k]:.2f}"
    if system != "dtc":
        raise SchemaError(f"sieve system must be dtc or mm, got {system!r}")
    return f"dtc:+{number}"


_GR_RE = re.compile(r"^(?:gr\s*:\s*(\d+(?:\.5)?)|(\d+(?:\.5)?)\s*(?:gr|grainers?|grn))$", re.I)
_CT_RE = re.compile(r"^(?:ct\s*:\s*)?(\d*\.?\d+)\s*(?:-\s*(\d*\.?\d+)|(\+))\s*(?:ct)?$", re.I)


def _number(text: str) -> str:
    return f"{float(text):g}"


def parse_size_class(value: Any) -> SizeClass:
    """Parse and normalise one size class.

    Parameters
    ----------
    value : Any
        ``"dtc:+11"``, ``"+11"``, ``"DTC +11"``, ``"mm:2.5"``, ``"2.5 mm"``,
        ``"gr:4"``, ``"4 gr"``, ``"ct:1-2"``, ``"1-2 ct"``, ``"ct:10+"``.

    Raises
    ------
    SchemaError
        If the value is in none of the systems (the message lists them).
    """
    text = str(value).strip()
    if not text:
        raise SchemaError("size class is empty")
    gr = _GR_RE.match(text)
    if gr:
        grains = float(gr.group(1) or gr.group(2))
        if not 0.5 <= grains <= 400:
            raise SchemaError(f"grainer class {grains:g} outside 0.5..400 gr")
        return SizeClass(
            f"gr:{grains:g}",
            "gr",
            max(grains - 0.5, 0.25) * CT_PER_GRAIN,
            grains * CT_PER_GRAIN,
            (grains + 0.5) * CT_PER_GRAIN,
        )
    lowered = text.lower()
    if lowered.startswith("ct") or lowered.endswith("ct"):
        ct = _CT_RE.match(text)
        if not ct:
            raise SchemaError(f"carat class '{text}' must read 'ct:LOW-HIGH' or 'ct:LOW+' (e.g. 'ct:1-2')")
        low = float(ct.group(1))
        if ct.group(3):
            if not low > 0:
                raise SchemaError(f"carat class '{text}': the lower bound must be > 0")
            return SizeClass(f"ct:{_number(ct.group(1))}+", "ct", low, 1.25 * low, math.inf)
        high = float(ct.group(2))
        if not 0 <= low < high:
            raise SchemaError(f"carat class '{text}': needs 0 <= low < high")
        return SizeClass(
            f"ct:{_number(ct.group(1))}-{_number(ct.group(2))}", "ct", low, 0.5 * (low + high), high
        )
    try:
        sieve = normalise_sieve(text)
    except SchemaError:
        raise SchemaError(
            f"size class '{text}' is in no known system: " + "; ".join(SIZE_SYSTEMS.values())
        ) from None
    low, nominal, high = sieve_carats(sieve)
    return SizeClass(sieve, sieve.partition(":")[0], low, nominal, high, sieve=sieve)


def convert_size_class(value: Any, system: str) -> str:
    """Express a size class in another system (through carats per stone; see the module notes).

    ``dtc`` <-> ``mm`` goes through the aperture; anything to ``gr`` gives the
    nearest half grain of the nominal mass, to ``ct`` the class's carat range,
    and to a sieve the sieve whose carat range holds the nominal mass.
    """
    size = parse_size_class(value)
    if system == size.system:
        return size.label
    if system not in SIZE_SYSTEMS:
        raise SchemaError(f"unknown size-class system {system!r}; known: {', '.join(SIZE_SYSTEMS)}")
    if size.sieve is not None and system in ("dtc", "mm"):
        if system == "mm":
            return f"mm:{sieve_to_mm(size.sieve):.2f}"
        number = _mm_to_dtc_number(float(size.sieve.partition(":")[2]))
        return normalise_sieve(f"+{max(1.0, min(23.0, round(number * 2) / 2)):g}")
    if system == "gr":
        return f"gr:{max(0.5, round(size.ct_nominal / CT_PER_GRAIN * 2) / 2):g}"
    if system == "ct":
        high = "+" if math.isinf(size.ct_high) else f"-{size.ct_high:.4g}"
        return f"ct:{size.ct_low:.4g}{high}" if high != "+" else f"ct:{size.ct_low:.4g}+"
    return sieve_for_carats(size.ct_nominal, system)
