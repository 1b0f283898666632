"""Check ``missing``: a participant or flow with no figures for a period its partners report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._core import Settings, StatsData, _finding, _fmt, _severity
from ._periods import index_label


def check_missing(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag a participant or flow with no figures for a period its partners report."""
    trade = data.trade
    m = data.mirror
    if not len(trade) or m is None or not len(m):
        return []
    # the pair table already knows, per pair period (at the coarser grain of the two sides),
    # whether each side has figures for its flow in that period (NaN: none at all)
    parts = []
    for target, reporter, own, other, flow in (
        ("exporter", "importer", "A", "B", "export"),
        ("importer", "exporter", "B", "A", "import"),
    ):
        rows = (m[f"{own}_carats"].isna() & (m[f"{other}_carats"] > 0)).to_numpy()
        if rows.any():
            parts.append(
                pd.DataFrame(
                    {
                        "target": np.asarray(m[target].to_numpy()[rows], dtype=object),
                        "flow": flow,
                        "grain": m["grain"].to_numpy()[rows],
                        "idx": m["idx"].to_numpy()[rows],
                        "reporter": np.asarray(m[reporter].to_numpy()[rows], dtype=object),
                        "carats": m[f"{other}_carats"].to_numpy()[rows],
                        "value_usd": m[f"{other}_value_usd"].to_numpy()[rows],
                    }
                )
            )
    if not parts:
        return []
    g = pd.concat(parts, ignore_index=True)
    who_all, gr_all, ix_all = g["target"].to_numpy(dtype=object), g["grain"].to_numpy(), g["idx"].to_numpy()
    cov = data.coverage
    g["silent"] = ~(
        cov.covered(who_all, "export", gr_all, ix_all) | cov.covered(who_all, "import", gr_all, ix_all)
    )
    typical = _typical(data)
    participants = set(trade["participant"].unique())
    out = []
    for (who, flow, gr, ix), grp in g.groupby(["target", "flow", "grain", "idx"], sort=True):
        total = float(grp["carats"].sum())
        if total < s.missing_min_ct:
            continue
        by = grp.groupby("reporter")["carats"].sum().sort_values(ascending=False)
        per_q = typical.get((who, flow), 0.0)
        normal = per_q * (1, 2, 4)[int(gr)]
        share = total / (total + normal)
        silent = bool(grp["silent"].all())
        period = str(index_label(np.array([ix]), int(gr))[0])
        if who not in participants:
            what = f"{who} has no figures at all in the trade file"
        elif silent:
            what = f"{who} reports no trade at all for {period}"
        else:
            what = f"{who} reports no {flow}s for {period}"
        reporters = ", ".join(f"{r} {_fmt(v, 'ct')}" for r, v in by.items())
        verb = "exports to" if flow == "import" else "imports from"
        detail = (
            f"{what}, while partners report {verb} {who} of {_fmt(total, 'ct')}, "
            f"{_fmt(float(grp['value_usd'].sum()), 'US$')} ({reporters}); its typical {flow}s per period: "
            f"{_fmt(normal, 'ct')}"
        )
        severity = None
        if silent and _severity("missing", share) == "low":
            severity = "medium"
        out.append(
            _finding(who, period, "missing", str(by.index[0]), 0.0, total, share, detail, flow, severity)
        )
    return out


def _typical(data: StatsData) -> dict[tuple[str, str], float]:
    """Median carats per quarter of each participant's export and import flows."""
    t = data.totals
    if t is None or not len(t):
        return {}
    t = t[t["flow"] != "production"]
    per_q = t["carats"].to_numpy() / np.array([1, 2, 4])[t["grain"].to_numpy()]
    med = pd.Series(per_q).groupby([t["participant"].to_numpy(), t["flow"].to_numpy()]).median()
    return {(str(a), str(b)): float(v) for (a, b), v in med.items()}
