"""Check ``certificates``: carats and US$ per certificate, and partners' certificate counts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._core import Settings, StatsData, _finding, _fmt, _group_codes
from ._mirror import _mirror_scores, _shift_adjusted
from ._periods import index_label


def check_certificates(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag implausible carats or US$ per certificate, and partners' certificate counts that disagree."""
    trade = data.trade
    if not len(trade):
        return []
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    labels = trade["period"].to_numpy(dtype=object)
    ct = trade["carats"].to_numpy()
    usd = trade["value_usd"].to_numpy()
    certs = trade["certificates"].to_numpy()
    group = _group_codes(trade, ["participant", "flow", "partner"])
    sizes = np.bincount(group)[group]
    is_export = (trade["flow"] == "export").to_numpy()
    zero = (ct > 0) & (certs == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = {
            "ct": np.where((ct > 0) & (certs > 0), np.log(ct / certs), np.nan),
            "US$": np.where((usd > 0) & (certs > 0), np.log(usd / certs), np.nan),
        }
    flags = {}
    ex = np.flatnonzero(is_export)  # only the exporter's side is judged: medians over its rows
    for unit, v in per.items():
        med = np.full(len(v), np.nan)
        mad = np.full(len(v), np.nan)
        med[ex] = pd.Series(v[ex]).groupby(group[ex]).transform("median").to_numpy()
        mad[ex] = (
            pd.Series(np.abs(v[ex] - med[ex])).groupby(group[ex]).transform("median").to_numpy() * 1.4826
        )
        scale = np.maximum(np.nan_to_num(mad, nan=s.cert_noise_floor), s.cert_noise_floor)
        dist = np.abs(v - med)
        # judged on the exporter's side (the exporting authority issues the certificates), on material rows
        flags[unit] = (
            np.isfinite(dist)
            & (sizes >= 4)
            & (dist / scale >= s.cert_z)
            & is_export
            & (ct >= s.uv_min_ct)
            & (dist >= math.log(s.cert_min_ratio)),
            dist,
            med,
        )
    hits = np.flatnonzero(zero | flags["ct"][0] | flags["US$"][0])
    part = dict(zip(hits.tolist(), trade["participant"].to_numpy(dtype=object)[hits], strict=True))
    partner = dict(zip(hits.tolist(), trade["partner"].to_numpy(dtype=object)[hits], strict=True))
    flow = dict(zip(hits.tolist(), trade["flow"].to_numpy(dtype=object)[hits], strict=True))
    for i in hits.tolist():
        if zero[i]:
            detail = (
                f"{part[i]} reports {flow[i]}s {'to' if flow[i] == 'export' else 'from'} {partner[i]} of "
                f"{_fmt(ct[i], 'ct')} on zero certificates"
            )
            found[(part[i], labels[i], partner[i])] = _finding(
                part[i],
                labels[i],
                "certificates",
                partner[i],
                0.0,
                float("nan"),
                10.0,
                detail,
                flow[i],
                "high",
            )
            continue
        unit = (
            "ct"
            if flags["ct"][0][i] and (not flags["US$"][0][i] or flags["ct"][1][i] >= flags["US$"][1][i])
            else "US$"
        )
        _, dist, med = flags[unit]
        observed = math.exp(per[unit][i])
        typical = math.exp(med[i])
        detail = (
            f"{part[i]} {flow[i]}s {'to' if flow[i] == 'export' else 'from'} {partner[i]}: "
            f"{int(certs[i])} certificates for {_fmt(ct[i], 'ct')}, {_fmt(usd[i], 'US$')}: "
            f"{observed:,.1f} {unit} per certificate against a median of {typical:,.1f} for this pair"
        )
        found[(part[i], labels[i], partner[i])] = _finding(
            part[i],
            labels[i],
            "certificates",
            partner[i],
            observed,
            typical,
            dist[i] / math.log(2),
            detail,
            flow[i],
        )
    m = data.mirror
    if m is not None and len(m):
        mm = _mirror_scores(data, s)["m"]
        ca, cb_adj, moved = _shift_adjusted(mm, "certificates")
        cb = mm["B_certificates"].to_numpy()
        diff = np.abs(ca - cb_adj)
        # counts disagree only after allowing for certificates counted by the importer in another quarter
        disagree = (diff >= s.cert_abs) & (diff >= s.cert_rel * np.maximum(ca, cb_adj))
        mlabels = index_label(mm["idx"].to_numpy(), mm["grain"].to_numpy())
        for i in np.flatnonzero(disagree).tolist():
            a, b = mm["exporter"].iat[i], mm["importer"].iat[i]
            score = abs(math.log2((ca[i] + 1) / (cb_adj[i] + 1)))
            text = (
                f"{a} counts {int(ca[i])} export certificates to {b}, {b} counts {int(cb[i])} import "
                f"certificates from {a}"
            )
            if moved[i]:
                text += (
                    f"; still {int(ca[i])} against {int(cb_adj[i])} after allowing for {int(abs(moved[i]))} "
                    "counted in another quarter"
                )
            key = (a, mlabels[i], b)
            if key in found:
                found[key]["detail"] += "; " + text
                continue
            found[key] = _finding(a, mlabels[i], "certificates", b, ca[i], cb[i], score, text, "export")
    return list(found.values())
