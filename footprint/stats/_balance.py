"""Check ``balance``: a participant year's exports against its production plus imports."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ._core import Settings, StatsData, _finding, _fmt

logger = logging.getLogger(__name__)


def check_balance(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag participant years whose exports exceed production plus imports beyond the stock tolerance."""
    t = data.totals
    if t is None or not len(t):
        return []
    if not len(data.production):
        # without production figures nobody's supply is known (a participant absent from a
        # production table is a non-producer; with no table at all it is unknown)
        logger.info("check balance: no production figures given, not judged")
        return []
    grain = t["grain"].to_numpy()
    frame = pd.DataFrame(
        {
            "participant": t["participant"].to_numpy(),
            "flow": t["flow"].to_numpy(),
            "year": t["idx"].to_numpy() // np.array([4, 2, 1])[grain],
            "ct": t["carats"].to_numpy(),
            "q": np.array([1, 2, 4])[grain],
        }
    )
    y = frame.groupby(["participant", "year", "flow"], sort=True)[["ct", "q"]].sum().unstack("flow")

    def col(name: str, flow: str) -> np.ndarray:
        return y[(name, flow)].to_numpy(dtype="float64") if (name, flow) in y else np.full(len(y), np.nan)

    exports, imports, prod = col("ct", "export"), col("ct", "import"), col("ct", "production")
    q_exp, q_imp, q_prod = col("q", "export"), col("q", "import"), col("q", "production")
    who = y.index.get_level_values("participant").to_numpy(dtype=object)
    year = y.index.get_level_values("year").to_numpy()
    producers = (
        np.isin(who, data.production["participant"].unique())
        if len(data.production)
        else np.zeros(len(y), dtype=bool)
    )
    importers = np.isin(who, data.trade.loc[data.trade["flow"] == "import", "participant"].unique())
    # judged: a full year of exports; for a producer a full year of production; for an importer a full
    # year of imports (a gap is reported by ``missing``, not guessed here)
    judged = (
        (np.nan_to_num(exports) > 0)
        & (q_exp == 4)
        & (~producers | (q_prod == 4))
        & (~importers | (q_imp == 4))
    )
    supply = np.where(producers, np.nan_to_num(prod), 0.0) + np.nan_to_num(imports)
    excess = np.nan_to_num(exports) - supply
    tolerance = np.maximum(s.stock_tolerance * supply, s.balance_min_ct)
    out = []
    for i in np.flatnonzero(judged & (excess > tolerance)):
        p_ct = float(prod[i]) if producers[i] else 0.0
        i_ct = float(np.nan_to_num(imports[i]))
        score = exports[i] / max(supply[i], s.balance_min_ct) - 1.0
        detail = (
            f"{who[i]} {year[i]}: exports {_fmt(exports[i], 'ct')} against production {_fmt(p_ct, 'ct')} "
            f"plus imports {_fmt(i_ct, 'ct')} = {_fmt(supply[i], 'ct')}; excess {_fmt(excess[i], 'ct')} is "
            f"over the stock tolerance {_fmt(tolerance[i], 'ct')} (max of {s.stock_tolerance:.0%} of supply "
            f"and {s.balance_min_ct:,.0f} ct)"
        )
        out.append(
            _finding(str(who[i]), str(year[i]), "balance", "", exports[i], supply[i], score, detail, "export")
        )
    return out
