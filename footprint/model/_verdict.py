"""Verdicts from versioned thresholds, worded the way footprint experts word them.

The default thresholds (``footprint/data/thresholds_v4.json``) are ESTIMATES:
no KP-published numeric thresholds exist (DOMAIN notes, section 5.7). Every
threshold set carries a version, printed on reports and kept in the model's
manifest.

Version 2 (error rates). Two calibrated tests run on every parcel (see
:mod:`._parcel`): "mixed" (foreign stones; p < ``mixed_alpha``) and "unknown
origin" (unlike every reference zone; p < ``unknown_alpha``); each flags at
most its alpha of genuine parcels. Order of the decision (first rule that
applies):

1. fewer stones than ``min_parcel_stones``     -> inconclusive (too few stones)
2. declared zone not among the reference zones -> inconclusive (no reference)
3. no declared zone: unknown origin if novel; else log10 LR(best vs second)
   >= ``assign_log10_lr`` -> assigned, else inconclusive
4. novel and (not mixed, or most of the parcel foreign) -> unknown_origin
5. log10 LR <= ``inconsistent_log10_lr`` and foreign fraction >=
   ``majority_foreign_fraction`` -> inconsistent
6. mixed test significant, or log10 LR <= ``inconsistent_log10_lr`` -> mixed
7. log10 LR >= ``consistent_log10_lr`` -> consistent
8. otherwise -> inconclusive (the evidence does not separate the zones)

Every flag raised is also listed (``flags``: e.g. ``mixed;unknown_origin``
for a topped-up parcel whose stones are also unlike every reference).

Version 3 keeps the keys of version 2; "unknown origin" now
has two calibrated tests, the parcel novelty test (stones unlike every
reference site) and the population goodness-of-fit test (:mod:`._fit_test`:
the stones, taken together, unlike any mixture of the reference sites, though
each may look like some reference stone), each at ``unknown_alpha / 2``
(Bonferroni), so together they still flag at most ``unknown_alpha`` of
genuine parcels. A model saved before the fit test has no fit null: its
parcels get the novelty test alone at ``unknown_alpha``. A version 2 set
(``thresholds_v2.json``) still loads and keeps its meaning (novelty alone).

Version 4 (the default) keeps the meaning of every version 3 key and
makes the mixed test's level depend on the parcel size: ``mixed_alpha``
(0.02) from ``small_parcel_stones`` (50) stones on, ``mixed_alpha_small``
(0.01) below, so that every flag together (mixed, unknown origin at
``unknown_alpha``, and the chance "inconsistent" verdicts weak evidence gives
the smallest parcels) stays at most 3 in 100 genuine parcels. The mixed
p-value is read against the declared zone's own held-out genuine parcels
(:meth:`._parcel.ParcelCalibration.mixed_p_values`). A version 2 or 3 set
keeps one level at every size (``mixed_alpha_small = mixed_alpha``).

A version 1 set (``thresholds_v1.json``) still loads: its
``novelty_alpha_parcel`` becomes ``unknown_alpha`` and ``mixed_alpha``
takes the v2 default; ``mixed_fraction`` is no longer used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import InputError, Problem

__all__ = ["VERDICTS", "decide", "load_thresholds", "mixed_alpha_at", "unknown_origin_test", "uses_fit_test",
           "wording", "wordings"]

#: Verdict words, and what each means.
VERDICTS = {
    "consistent": "the parcel is consistent with the declared zone",
    "inconsistent": "the parcel is not consistent with the declared zone",
    "mixed": "part of the parcel is not consistent with the declared zone",
    "unknown_origin": "the parcel is unlike every reference zone",
    "inconclusive": "the footprint does not support an opinion",
    "assigned": "no zone was declared; the parcel's characteristics are typical of one zone",
}

_COMMON = {
    "consistent_log10_lr": (-10.0, 10.0), "inconsistent_log10_lr": (-10.0, 10.0),
    "assign_log10_lr": (0.0, 10.0), "mixed_interval_level": (0.5, 0.999),
    "majority_foreign_fraction": (0.0, 1.0), "min_parcel_stones": (1, 100000),
    "novelty_alpha_stone": (0.0, 0.5),
}
_NUMERIC_V1 = {**_COMMON, "mixed_fraction": (0.0, 1.0), "novelty_alpha_parcel": (0.0, 0.5)}
_NUMERIC = {**_COMMON, "mixed_alpha": (0.0, 0.5), "unknown_alpha": (0.0, 0.5)}
_NUMERIC_V4 = {**_NUMERIC, "mixed_alpha_small": (0.0, 0.5), "small_parcel_stones": (0, 100000)}
#: v2 default of the mixed test's level, used when a v1 set is loaded.
_V1_MIXED_ALPHA = 0.01


def load_thresholds(path: str | Path | None = None,
                    overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read a threshold set (the bundled v4 by default) and apply ``overrides``.

    Parameters
    ----------
    path : str or Path, optional
        A JSON file with the same keys as ``footprint/data/thresholds_v4.json``
        (or a version 1, 2 or 3 set, read as the module docstring says).
    overrides : mapping, optional
        Values replacing those of the file. Changing a value without changing
        ``version`` marks the version as ``<version>+custom``.

    Raises
    ------
    InputError
        A key is unknown, a value is not a number in its range, or the
        consistent threshold is below the inconsistent one.
    """
    source = str(path) if path is not None else "footprint/data/thresholds_v4.json"
    if path is None:
        text = resources.files("footprint").joinpath("data/thresholds_v4.json").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        data: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None
    if overrides:
        changed = {k: v for k, v in overrides.items() if data.get(k) != v}
        data.update(overrides)
        if changed and "version" not in overrides:
            data["version"] = f"{data.get('version', '?')}+custom"
    major = str(data.get("version", "")).split("+")[0]
    v1 = major == "1"
    before_v4 = major in ("1", "2", "3")
    numeric = _NUMERIC_V1 if v1 else _NUMERIC if before_v4 else _NUMERIC_V4
    problems = []
    for key in data:
        if key not in numeric and key not in ("name", "version", "status", "zone_priors", "notes"):
            problems.append(Problem(source, None, key, data[key], "unknown threshold"))
    for key, (low, high) in numeric.items():
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            problems.append(Problem(source, None, key, value, f"must be a number in [{low}, {high}]"))
    if "version" not in data:
        problems.append(Problem(source, None, "version", None, "a threshold set needs a version"))
    if not problems and data["consistent_log10_lr"] < data["inconsistent_log10_lr"]:
        problems.append(Problem(source, None, "consistent_log10_lr", data["consistent_log10_lr"],
                                "must not be below inconsistent_log10_lr"))
    if problems:
        raise InputError("invalid verdict thresholds", problems)
    data["version"] = str(data["version"])
    data["min_parcel_stones"] = int(data["min_parcel_stones"])
    if v1:  # the v2 keys a v1 set stands for
        data["unknown_alpha"] = data["novelty_alpha_parcel"]
        data["mixed_alpha"] = _V1_MIXED_ALPHA
    if before_v4:  # one level of the mixed test at every size
        data["mixed_alpha_small"] = data["mixed_alpha"]
        data["small_parcel_stones"] = 0
    data["small_parcel_stones"] = int(data["small_parcel_stones"])
    return data


def mixed_alpha_at(t: Mapping[str, Any], n_stones: np.ndarray | float) -> np.ndarray:
    """Level of the mixed test for parcels of ``n_stones`` stones (summed weights).

    ``mixed_alpha_small`` below ``small_parcel_stones`` stones, ``mixed_alpha``
    from there on (version 4); one level at every size for earlier sets (and
    for a set given as a plain mapping without the version 4 keys).
    """
    n = np.asarray(n_stones, dtype=float)
    big = float(t["mixed_alpha"])
    small = float(t.get("mixed_alpha_small", big))
    return np.where(n < float(t.get("small_parcel_stones", 0)), small, big)


def decide(t: Mapping[str, Any], *, n_stones: np.ndarray, declared_known: np.ndarray,
           has_declared: np.ndarray, log10_lr: np.ndarray, fraction: np.ndarray, mixed_p: np.ndarray,
           novelty_p: np.ndarray, fit_p: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised verdicts for many parcels.

    ``fit_p`` is the population goodness-of-fit p-value (NaN or None where the
    model has no fit null). Under a version 3 set (any version but 1 and 2) a
    parcel is novel when ``min(novelty_p, fit_p) < unknown_alpha / 2``
    (Bonferroni: the two unknown-origin tests together flag at most
    ``unknown_alpha`` of genuine parcels); without a fit p-value, when
    ``novelty_p < unknown_alpha``. Version 1 and 2 sets keep their meaning:
    the novelty test alone.

    Returns
    -------
    verdict, code : ndarray of str
        Verdict word and a reason code (``inconclusive.too_few_stones`` ...).
    flags : ndarray of str
        Every flag raised (``mixed``, ``inconsistent``, ``unknown_origin``), joined by ``;``.
    """
    few = n_stones < t["min_parcel_stones"]
    unknown_decl = has_declared & ~declared_known
    novel = unknown_origin_test(t, novelty_p, fit_p)
    mixed = mixed_p < mixed_alpha_at(t, n_stones)
    low = log10_lr <= t["inconsistent_log10_lr"]
    high = log10_lr >= t["consistent_log10_lr"]
    assign = log10_lr >= t["assign_log10_lr"]
    majority = fraction >= t["majority_foreign_fraction"]
    conditions = [
        few, unknown_decl, ~has_declared & novel,
        ~has_declared & assign, ~has_declared,
        novel & (~(mixed | low) | majority), low & majority, mixed | low, high,
    ]
    codes = [
        "inconclusive.too_few_stones", "inconclusive.declared_zone_not_in_reference", "unknown_origin",
        "assigned", "inconclusive.no_clear_zone",
        "unknown_origin", "inconsistent", "mixed", "consistent",
    ]
    code = np.select(conditions, codes, default="inconclusive.weak_evidence").astype(object)
    verdict = np.array([c.split(".")[0] for c in code], dtype=object)
    judged = ~few & ~unknown_decl
    parts = [(judged & has_declared & low & majority, "inconsistent"),
             (judged & has_declared & (mixed | (low & ~majority)), "mixed"),
             (judged & novel, "unknown_origin")]
    flags = np.array([";".join(name for mask, name in parts if mask[k]) for k in range(len(code))],
                     dtype=object)
    return verdict, code, flags


def uses_fit_test(t: Mapping[str, Any]) -> bool:
    """Whether a threshold set's unknown-origin rule includes the population fit test (version 3 on)."""
    return str(t.get("version", "")).split("+")[0] not in ("1", "2")


def unknown_alphas(t: Mapping[str, Any]) -> tuple[float, float | None]:
    """Levels of the stone-by-stone and the population unknown-origin tests, ``unknown_alpha`` in all.

    Version 3 on: half of it each; before: all of it for the stone-by-stone
    test and no population test (None).
    """
    alpha = float(t["unknown_alpha"])
    return (alpha / 2, alpha / 2) if uses_fit_test(t) else (alpha, None)


def unknown_origin_test(t: Mapping[str, Any], novelty_p: np.ndarray, fit_p: np.ndarray | None) -> np.ndarray:
    """Return the unknown-origin flags: novelty and (v3 on) population fit, ``unknown_alpha`` in all.

    A parcel without a population p-value (NaN: a model saved before the test)
    meets the stone-by-stone test at the whole ``unknown_alpha``.
    """
    novelty_p = np.asarray(novelty_p, dtype=float)
    alone = novelty_p < float(t["unknown_alpha"])
    novelty_alpha, fit_alpha = unknown_alphas(t)
    if fit_p is None or fit_alpha is None:
        return alone
    fit_p = np.asarray(fit_p, dtype=float)
    return np.where(np.isfinite(fit_p), (novelty_p < novelty_alpha) | (fit_p < fit_alpha), alone)


#: Added to the sentence of a parcel the population fit test flags as unknown origin.
FIT_FAILED = ("; the parcel's stones, taken together, fit no mixture of the reference sites (population "
              "test), though each may look like some reference stone")


def wording(code: str, *, declared: str | None, best: str | None, consistent_zones: list[str],
            n_stones: int, fraction: float, lo: float, hi: float, t: Mapping[str, Any]) -> str:
    """Return the sentence an expert would write for a verdict code (English; reports translate)."""
    typical = " and ".join(consistent_zones) if consistent_zones else (best or "no reference zone")
    if code == "consistent":
        return f"Consistent with the declared origin ({declared})"
    if code == "inconsistent":
        return f"Not consistent with the declared origin ({declared}); characteristics typical of {typical}"
    if code == "mixed":
        return (f"Not consistent with the declared origin ({declared}) for part of the parcel: an estimated "
                f"{fraction:.0%} of the stones (90% interval {lo:.0%} to {hi:.0%}) are foreign to {declared}")
    if code == "unknown_origin":
        return "Unlike every reference zone: unknown origin"
    if code == "mixed+unknown_origin":
        return (wording("mixed", declared=declared, best=best, consistent_zones=consistent_zones,
                        n_stones=n_stones, fraction=fraction, lo=lo, hi=hi, t=t)
                + "; the parcel's stones are also unlike every reference zone (unknown origin)")
    if code == "assigned":
        return f"Characteristics typical of {best}"
    if code == "inconclusive.too_few_stones":
        return (f"Inconclusive: {n_stones} stone(s), fewer than the {t['min_parcel_stones']} needed "
                "for a footprint opinion")
    if code == "inconclusive.declared_zone_not_in_reference":
        return f"Inconclusive: the declared zone ({declared}) has no reference footprint"
    if code == "inconclusive.no_clear_zone":
        return f"Inconclusive: characteristics typical of {typical}"
    return f"Inconclusive: the footprint does not separate {declared} from {typical}"


#: Which of :func:`wording`'s numbers each verdict code's sentence uses (the others do not change it).
_USES_COUNT = frozenset({"inconclusive.too_few_stones"})
_USES_FRACTION = frozenset({"mixed", "mixed+unknown_origin"})


def wordings(codes: Sequence[str] | np.ndarray, *, declared: Sequence[str | None],
             best: Sequence[str | None], consistent_sets: Sequence[str], n_stones: Sequence[int] | np.ndarray,
             fraction: Sequence[float] | np.ndarray, lo: Sequence[float] | np.ndarray,
             hi: Sequence[float] | np.ndarray, t: Mapping[str, Any]) -> list[str]:
    """:func:`wording` for many parcels (``consistent_sets``: zone names joined by ``;``).

    Parcels with the same code, zones and (where the sentence quotes them)
    numbers share one sentence, built once: a batch has few distinct ones.
    """
    counts = np.asarray(n_stones).tolist()
    fractions = np.asarray(fraction, dtype=float).tolist()
    lows, highs = np.asarray(lo, dtype=float).tolist(), np.asarray(hi, dtype=float).tolist()
    built: dict[tuple[Any, ...], str] = {}
    out = []
    for k, code in enumerate(codes):
        key = (code, declared[k], best[k], consistent_sets[k],
               counts[k] if code in _USES_COUNT else None,
               (fractions[k], lows[k], highs[k]) if code in _USES_FRACTION else None)
        text = built.get(key)
        if text is None:
            text = built[key] = wording(
                code, declared=declared[k], best=best[k],
                consistent_zones=consistent_sets[k].split(";") if consistent_sets[k] else [],
                n_stones=int(counts[k]), fraction=fractions[k], lo=lows[k], hi=highs[k], t=t)
        out.append(text)
    return out
