"""Check ``unit_value``: a flow's US$/ct against its own history and its partners' reports."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._core import Settings, StatsData, _finding, _fmt, _group_codes
from ._mirror import _mirror_scores
from ._periods import index_label


def _neighbour_median(y: np.ndarray, series: np.ndarray, k: int) -> np.ndarray:
    """Median of up to k valid values on each side within the same series (self excluded)."""
    n = len(y)
    cols = []
    for off in [*range(-k, 0), *range(1, k + 1)]:
        shifted = np.full(n, np.nan)
        src = np.arange(n) + off
        ok = (src >= 0) & (src < n)
        ok[ok] &= series[src[ok]] == series[ok]
        shifted[ok] = y[src[ok]]
        cols.append(shifted)
    block = np.stack(cols, axis=1)
    enough = np.isfinite(block).sum(axis=1) >= 3
    out = np.full(n, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[enough] = np.nanmedian(block[enough], axis=1)
    return out


def check_unit_value(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag flows whose US$/ct is far from their own history and from their partners' reports."""
    t = data.totals
    if t is None or not len(t):
        return []
    valid = (t["carats"].to_numpy() >= s.uv_min_ct) & (t["value_usd"].to_numpy() > 0)
    t = t[valid].reset_index(drop=True)
    if not len(t):
        return []
    y = np.log(t["value_usd"].to_numpy() / t["carats"].to_numpy())
    series = _group_codes(t, ["participant", "flow"])
    # each valid value's neighbours are the valid values of the same series, in time order
    med = _neighbour_median(y, series, s.uv_neighbours)
    resid = y - med
    scale = pd.Series(np.abs(resid)).groupby(series).transform("median").to_numpy() * 1.4826
    scale = np.where(np.isfinite(scale), np.maximum(scale, s.uv_noise_floor), s.uv_noise_floor)
    z = resid / scale
    cand = np.isfinite(z) & (np.abs(z) >= s.uv_z) & (np.abs(resid) >= math.log(s.uv_min_ratio))
    if not cand.any():
        return []
    partner = _partner_uv(data, s, set(t["participant"].to_numpy(dtype=object)[cand]))
    out = []
    labels = index_label(t["idx"].to_numpy(), t["grain"].to_numpy())
    for i in np.flatnonzero(cand):
        who, flow = t["participant"].iat[i], t["flow"].iat[i]
        key = (who, flow, int(t["grain"].iat[i]), int(t["idx"].iat[i]))
        own_uv = math.exp(y[i])
        history_uv = math.exp(med[i])
        note = ""
        if flow != "production" and key in partner.index:
            z_p, p_uv = (float(v) for v in partner.loc[key, ["z", "partner_uv"]])
            if z_p < s.uv_partner_z:
                continue  # partners report the same unit value: a real change, not a reporting anomaly
            note = f"; its partners report {_fmt(p_uv, 'US$/ct')} for the same trade (robust z {z_p:.1f})"
        elif flow != "production":
            note = "; no partner reports the same trade"
        detail = (
            f"{flow} of {who}: {_fmt(own_uv, 'US$/ct')} ({_fmt(t['carats'].iat[i], 'ct')}, "
            f"{_fmt(t['value_usd'].iat[i], 'US$')}) against {_fmt(history_uv, 'US$/ct')} in its "
            f"neighbouring periods (x{own_uv / history_uv:.2f}, robust z {z[i]:+.1f}){note}"
        )
        out.append(_finding(who, labels[i], "unit_value", "", own_uv, history_uv, abs(z[i]), detail, flow))
    return out


def _partner_uv(data: StatsData, s: Settings, participants: set[str] | None = None) -> pd.DataFrame:
    """Own against partners' US$/ct of the same trade, per participant flow period (robust z).

    Returns a frame indexed by (participant, flow, grain, idx) with columns ``z`` and ``partner_uv``,
    for ``participants`` only when given.
    """
    m = data.mirror
    if m is None or not len(m):
        return pd.DataFrame(columns=["z", "partner_uv"])
    both = (m["A_carats"] > 0) & (m["B_carats"] > 0) & (m["A_value_usd"] > 0) & (m["B_value_usd"] > 0)
    m = m[both.to_numpy()]
    med_uv, sc_uv = _mirror_scores(data, s)["uv"]
    parts = []
    for who, flow, own, other in (("exporter", "export", "A", "B"), ("importer", "import", "B", "A")):
        rows = m if participants is None else m[m[who].isin(sorted(participants)).to_numpy()]
        g = rows.groupby([who, "grain", "idx"], sort=False, observed=True)[
            [f"{own}_carats", f"{own}_value_usd", f"{other}_carats", f"{other}_value_usd"]
        ].sum()
        own_uv = (g[f"{own}_value_usd"] / g[f"{own}_carats"]).to_numpy()
        other_uv = (g[f"{other}_value_usd"] / g[f"{other}_carats"]).to_numpy()
        sign = 1.0 if own == "A" else -1.0  # med_uv is log(A/B)
        z = np.abs(np.log(own_uv / other_uv) - sign * med_uv) / sc_uv
        index = pd.MultiIndex.from_arrays(
            [
                g.index.get_level_values(0),
                np.full(len(g), flow, dtype=object),
                g.index.get_level_values(1),
                g.index.get_level_values(2),
            ],
            names=["participant", "flow", "grain", "idx"],
        )
        parts.append(pd.DataFrame({"z": z, "partner_uv": other_uv}, index=index))
    return pd.concat(parts)
