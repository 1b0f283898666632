"""Check ``mirror``: exporter's against importer's report of the same trade, shifted shipments allowed for."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._core import Settings, StatsData, _finding, _fmt, _lr, _robust, _sample
from ._periods import index_label
from ._prepare import _NEIGHBOUR


def _shift_adjusted(m: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the importer's figure of a pair period after allowing for shipments recorded in another quarter.

    With ``d = A - B`` (exporter's minus importer's figure): a shortfall (``d > 0``) may be shipments
    the importer recorded in the next one to three periods (shipments shifted in a chain), so up to
    the importer's cumulative surplus there (the largest of ``-d[t+1]``, ``-(d[t+1] + d[t+2])``, ...)
    is added back; a surplus (``d < 0``) may be shipments certified in the previous one to three
    periods, so up to the importer's cumulative shortfall there is taken off. Never more than the
    difference itself.

    Returns
    -------
    a, b_adjusted, moved : ndarray
        Exporter's figure, importer's adjusted figure, and the amount credited (signed).
    """
    a = m[f"A_{name}"].to_numpy(dtype="float64")
    b = m[f"B_{name}"].to_numpy(dtype="float64")
    d = a - b
    diff = {k: m[f"D_{name}_{tag}"].to_numpy() for k, tag in _NEIGHBOUR.items()}
    # cumulative over the next (previous) one to three periods, so a chain of shifted shipments counts
    later = np.maximum.reduce(
        [np.zeros_like(d), -diff[1], -(diff[1] + diff[2]), -(diff[1] + diff[2] + diff[3])]
    )
    earlier = np.maximum.reduce(
        [np.zeros_like(d), diff[-1], diff[-1] + diff[-2], diff[-1] + diff[-2] + diff[-3]]
    )
    moved = np.where(d > 0, np.minimum(d, later), -np.minimum(-d, earlier))
    return a, b + moved, moved


def _mirror_scores(data: StatsData, s: Settings) -> dict[str, Any]:
    """Return robust z of the shift-adjusted mirror log ratios (for mirror, unit_value, certificates)."""
    key = f"mirror_scores:{s!r}"
    if key not in data.cache:
        data.cache[key] = _compute_mirror_scores(data, s)
    return data.cache[key]  # type: ignore[no-any-return]


def _compute_mirror_scores(data: StatsData, s: Settings) -> dict[str, Any]:
    m = data.mirror
    assert m is not None
    both = m["A_carats"].notna().to_numpy() & m["B_carats"].notna().to_numpy()
    m = m[both].reset_index(drop=True)
    c_ct, c_usd = s.mirror_min_ct / 5, s.mirror_min_usd / 5
    act, bct, moved_ct = _shift_adjusted(m, "carats")
    ausd, busd, moved_usd = _shift_adjusted(m, "value_usd")
    a_ct, b_ct = m["A_carats"].to_numpy(), m["B_carats"].to_numpy()
    a_usd, b_usd = m["A_value_usd"].to_numpy(), m["B_value_usd"].to_numpy()
    pos = (a_ct > 0) & (b_ct > 0) & (a_usd > 0) & (b_usd > 0)
    sample = _sample(pos)
    lr_ct, lr_usd = _lr(act, bct, c_ct), _lr(ausd, busd, c_usd)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr_uv = np.log(a_usd / a_ct) - np.log(b_usd / b_ct)
    med_ct, sc_ct = _robust(lr_ct[sample], s.mirror_noise_floor)
    med_usd, sc_usd = _robust(lr_usd[sample], s.mirror_noise_floor)
    med_uv, sc_uv = _robust(lr_uv[sample], s.mirror_noise_floor)
    z_uv = np.where(np.isfinite(lr_uv), np.abs(lr_uv - med_uv) / sc_uv, 0.0)
    return {
        "m": m,
        "act": act,
        "bct": bct,
        "ausd": ausd,
        "busd": busd,
        "moved_ct": moved_ct,
        "moved_usd": moved_usd,
        "z_ct": np.abs(lr_ct - med_ct) / sc_ct,
        "z_usd": np.abs(lr_usd - med_usd) / sc_usd,
        "z_uv": z_uv,
        "uv": (med_uv, sc_uv),
    }


def check_mirror(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag pair periods where exporter's and importer's reports of the same trade disagree."""
    if data.mirror is None or not len(data.mirror):
        return []
    r = _mirror_scores(data, s)
    m = r["m"]
    act, bct, ausd, busd = r["act"], r["bct"], r["ausd"], r["busd"]
    big_ct = np.maximum(act, bct)
    big_usd = np.maximum(ausd, busd)
    diff_ct = np.abs(act - bct)
    diff_usd = np.abs(ausd - busd)
    flag_ct = (
        (r["z_ct"] >= s.mirror_z) & (diff_ct >= s.mirror_min_ct) & (diff_ct >= s.mirror_min_rel * big_ct)
    )
    flag_usd = (
        (r["z_usd"] >= s.mirror_z) & (diff_usd >= s.mirror_min_usd) & (diff_usd >= s.mirror_min_rel * big_usd)
    )
    m_act, m_bct = m["A_carats"].to_numpy(), m["B_carats"].to_numpy()
    m_diff_usd = np.abs(m["A_value_usd"].to_numpy() - m["B_value_usd"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        uv_a, uv_b = m["A_value_usd"].to_numpy() / m_act, m["B_value_usd"].to_numpy() / m_bct
        uv_ratio = np.maximum(uv_a / uv_b, uv_b / uv_a)
    flag_uv = (
        (r["z_uv"] >= s.mirror_z)
        & (uv_ratio >= 1 + s.mirror_min_rel)
        & (m_act >= s.mirror_min_ct)
        & (m_bct >= s.mirror_min_ct)
        & (m_diff_usd >= s.mirror_min_usd)
    )
    flagged = flag_ct | flag_usd | flag_uv
    out = []
    labels = index_label(m["idx"].to_numpy(), m["grain"].to_numpy())
    for i in np.flatnonzero(flagged):
        scores = {
            "carats": r["z_ct"][i] if flag_ct[i] else 0.0,
            "US$": r["z_usd"][i] if flag_usd[i] else 0.0,
            "US$/ct": r["z_uv"][i] if flag_uv[i] else 0.0,
        }
        worst = max(scores, key=lambda k: scores[k])
        sa_ct, sb_ct = float(m["A_carats"].iat[i]), float(m["B_carats"].iat[i])
        sa_usd, sb_usd = float(m["A_value_usd"].iat[i]), float(m["B_value_usd"].iat[i])
        sa_uv = sa_usd / sa_ct if sa_ct > 0 else math.nan
        sb_uv = sb_usd / sb_ct if sb_ct > 0 else math.nan
        obs, exp = {"carats": (sa_ct, sb_ct), "US$": (sa_usd, sb_usd), "US$/ct": (sa_uv, sb_uv)}[worst]
        a, b = m["exporter"].iat[i], m["importer"].iat[i]
        one_side_empty = (act[i] == 0) != (bct[i] == 0)
        unit = "ct" if worst == "carats" else worst
        window = ""
        if r["moved_ct"][i] != 0:
            window = (
                f"; after allowing for {_fmt(abs(r['moved_ct'][i]), 'ct')} recorded by the importer in "
                f"{'a later' if r['moved_ct'][i] > 0 else 'this instead of an earlier'} quarter "
                f"(shipments crossing a quarter boundary), still {_fmt(act[i], 'ct')} against "
                f"{_fmt(bct[i], 'ct')}"
            )
        detail = (
            f"{a} reports exports to {b} of {_fmt(sa_ct, 'ct')}, {_fmt(sa_usd, 'US$')} "
            f"({_fmt(sa_uv, 'US$/ct')}); {b} reports imports from {a} of {_fmt(sb_ct, 'ct')}, "
            f"{_fmt(sb_usd, 'US$')} ({_fmt(sb_uv, 'US$/ct')}){window}; worst measure {worst} "
            f"(observed = exporter's figure in {unit}, expected = importer's)"
        )
        out.append(
            _finding(
                a,
                labels[i],
                "mirror",
                b,
                obs,
                exp,
                max(scores.values()),
                detail,
                "export",
                "high" if one_side_empty else None,
            )
        )
    return out
