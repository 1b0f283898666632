"""The working tables of the checks: coverage of every series, the pair-level mirror table, own totals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._core import _NUM, StatsData
from ._periods import period_index, quarters_covered

_PROD_COLUMNS = ["participant", "period", "carats", "value_usd", "year", "grain", "part", "row"]


_TRADE_COLUMNS = [
    "participant",
    "period",
    "flow",
    "partner",
    "carats",
    "value_usd",
    "certificates",
    "year",
    "grain",
    "part",
    "row",
]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(
                dtype=object
                if c in ("participant", "period", "flow", "partner")
                else "float64"
                if c in ("carats", "value_usd", "certificates")
                else "int64"
            )
            for c in columns
        }
    )


def prepare(production: pd.DataFrame | None, trade: pd.DataFrame | None) -> StatsData:
    """Build the working data of the checks from validated tables.

    Parameters
    ----------
    production : DataFrame or None
        :func:`~footprint.stats.read_production` output (None: no production figures).
    trade : DataFrame or None
        :func:`~footprint.stats.read_trade` output (None: no trade figures).

    Returns
    -------
    StatsData
        With ``coverage`` (per grain code, the (participant, flow, period
        index) reported, flow ``production`` included), the pair-level
        ``mirror`` table and the per participant-flow ``totals``.
    """
    prod = _empty(_PROD_COLUMNS) if production is None else production
    trd = _empty(_TRADE_COLUMNS) if trade is None else trade
    synthetic = bool(
        (production is not None and production.attrs.get("synthetic"))
        or (trade is not None and trade.attrs.get("synthetic"))
    )
    data = StatsData(production=prod, trade=trd, synthetic=synthetic)
    data.coverage = _coverage(prod, trd)
    data.mirror = _mirror_table(trd, data.coverage)
    data.totals = _totals(prod, trd)
    return data


_FLOW_CODE = {"export": 0, "import": 1, "production": 2}


def _positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of every value in ``index`` (-1 if absent); cheap for categorical columns."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        lookup = index.get_indexer(np.asarray(values.cat.categories, dtype=object))
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, lookup[codes], -1).astype(np.int64)
    return index.get_indexer(values.to_numpy(dtype=object)).astype(np.int64)


def _labels(*columns: pd.Series) -> np.ndarray:
    """Return the distinct participant codes of some columns, as an object array."""
    parts = []
    for col in columns:
        if isinstance(col.dtype, pd.CategoricalDtype):
            parts.append(np.asarray(col.cat.categories, dtype=object))
        else:
            parts.append(pd.unique(col.to_numpy(dtype=object)))
    return pd.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=object)


class _Coverage:
    """Which (participant, flow, period index) have figures, per grain, as sorted integer keys."""

    def __init__(self, prod: pd.DataFrame, trade: pd.DataFrame) -> None:
        self.index = pd.Index(_labels(prod["participant"], trade["participant"], trade["partner"]))
        self.keys: dict[int, np.ndarray] = {}
        parts = []
        for frame, flow in ((prod, None), (trade, "flow")):
            if not len(frame):
                continue
            rows, quarters = quarters_covered(
                frame["year"].to_numpy(), frame["grain"].to_numpy(), frame["part"].to_numpy()
            )
            who = _positions(frame["participant"], self.index)
            flows = (
                np.full(len(frame), 2)
                if flow is None
                else (frame["flow"] == "import").to_numpy().astype(np.int64)
            )
            parts.append(self._key(who[rows], flows[rows], quarters))
        # hash to the few distinct keys first, then sort those (cheaper than sorting every row)
        quarter_keys = np.sort(pd.unique(np.concatenate(parts))) if parts else np.zeros(0, dtype=np.int64)
        for g, per in ((0, 1), (1, 2), (2, 4)):
            q = quarter_keys % 1_000_000
            base = quarter_keys - q
            self.keys[g] = np.sort(pd.unique(base + q // per))

    @staticmethod
    def _key(who: np.ndarray, flow: np.ndarray | int, idx: np.ndarray) -> np.ndarray:
        return (who.astype(np.int64) * 4 + flow) * 1_000_000 + idx

    def covered_codes(
        self, who: np.ndarray, flow: int | np.ndarray, grain: np.ndarray, idx: np.ndarray
    ) -> np.ndarray:
        """As :meth:`covered`, for participant positions in :attr:`index` and a flow code."""
        keys = self._key(np.asarray(who, dtype=np.int64), flow, np.asarray(idx, dtype=np.int64))
        grains = np.broadcast_to(np.asarray(grain, dtype=np.int64), keys.shape)
        out = np.zeros(len(keys), dtype=bool)
        for g in range(3):
            mask = grains == g
            if mask.any() and len(self.keys[g]):
                pos = np.minimum(np.searchsorted(self.keys[g], keys[mask]), len(self.keys[g]) - 1)
                out[mask] = self.keys[g][pos] == keys[mask]
        return out & (np.asarray(who) >= 0)

    def covered(
        self, participant: np.ndarray, flow: np.ndarray | str, grain: np.ndarray | int, idx: np.ndarray
    ) -> np.ndarray:
        """Whether each (participant, flow, period index at grain) has figures."""
        who = self.index.get_indexer(np.asarray(participant, dtype=object))
        flows = np.asarray(flow, dtype=object)
        if flows.ndim == 0:
            fcode = np.full(len(who), _FLOW_CODE[str(flows)], dtype=np.int64)
        else:
            fcode = np.where(flows == "export", 0, np.where(flows == "import", 1, 2)).astype(np.int64)
        grains = np.broadcast_to(np.asarray(grain, dtype=np.int64), who.shape)
        keys = self._key(np.where(who < 0, 0, who), fcode, np.asarray(idx, dtype=np.int64))
        out = np.zeros(len(who), dtype=bool)
        for g in range(3):
            mask = grains == g
            if mask.any():
                found = np.searchsorted(self.keys[g], keys[mask])
                found = np.minimum(found, max(len(self.keys[g]) - 1, 0))
                out[mask] = (
                    (len(self.keys[g]) > 0) & (self.keys[g][found] == keys[mask])
                    if len(self.keys[g])
                    else False
                )
        return out & (who >= 0)


def _coverage(prod: pd.DataFrame, trade: pd.DataFrame) -> _Coverage:
    return _Coverage(prod, trade)


def _covered(
    coverage: _Coverage, participant: np.ndarray, flow: np.ndarray | str, grain: np.ndarray, idx: np.ndarray
) -> np.ndarray:
    return coverage.covered(participant, flow, grain, idx)


def _group_max(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the maximum of ``values`` over its group (groups: integer labels)."""
    inv, uniq = pd.factorize(groups)
    values = values.astype(np.int64)
    top = np.zeros(len(uniq), dtype=np.int64)
    for level in np.unique(values).tolist():  # a handful of levels (grain codes): no slow ufunc.at
        top = np.where(
            np.bincount(inv, values == level, minlength=len(uniq)) > 0, np.maximum(top, level), top
        )
    return top[inv]


#: Neighbouring periods kept for every pair period (offset: column tag).
_NEIGHBOUR = {-3: "prev3", -2: "prev2", -1: "prev", 1: "next", 2: "next2", 3: "next3"}


def _mirror_table(trade: pd.DataFrame, coverage: _Coverage) -> pd.DataFrame:
    """Pair-level table: exporter's and importer's figures per pair period, with neighbouring periods."""
    cols = ["exporter", "importer", "grain", "idx"]
    if not len(trade):
        return pd.DataFrame(columns=cols)
    names = coverage.index.to_numpy(dtype=object)
    n = len(names) + 1
    is_exp = (trade["flow"] == "export").to_numpy()
    pc = _positions(trade["participant"], coverage.index)
    qc = _positions(trade["partner"], coverage.index)
    exp_c = np.where(is_exp, pc, qc)
    imp_c = np.where(is_exp, qc, pc)
    pair = exp_c * n + imp_c
    g = trade["grain"].to_numpy().astype(np.int64)
    grain = _group_max(pair, g)
    idx = period_index(trade["year"].to_numpy(), g, trade["part"].to_numpy(), grain)
    key = (pair * 3 + grain) * 1_000_000 + idx
    inv, uniq = pd.factorize(key)
    uniq = np.asarray(uniq, dtype=np.int64)
    data: dict[str, np.ndarray] = {}
    for side, mask in (("A", is_exp), ("B", ~is_exp)):
        where = inv[mask]
        present = np.bincount(where, minlength=len(uniq)) > 0
        for name in _NUM:
            total = np.bincount(where, trade[name].to_numpy()[mask], minlength=len(uniq))
            data[f"{side}_{name}"] = np.where(present, total, np.nan)
    u_idx = uniq % 1_000_000
    u_grain = (uniq // 1_000_000) % 3
    u_pair = uniq // 1_000_000 // 3
    u_exp, u_imp = u_pair // n, u_pair % n
    a_cov = coverage.covered_codes(u_exp, 0, u_grain, u_idx)
    b_cov = coverage.covered_codes(u_imp, 1, u_grain, u_idx)
    for side, cov in (("A", a_cov), ("B", b_cov)):
        for name in _NUM:
            col = f"{side}_{name}"
            data[col] = np.where(cov, np.nan_to_num(data[col], nan=0.0), np.nan)
    # exporter's minus importer's figure in the neighbouring periods of the same pair (absent: 0)
    diff = np.stack([np.nan_to_num(data[f"A_{name}"] - data[f"B_{name}"], nan=0.0) for name in _NUM], axis=1)
    lookup = pd.Index(uniq)
    for shift, tag in _NEIGHBOUR.items():
        pos = lookup.get_indexer(uniq + shift)
        shifted = np.where((pos >= 0)[:, None], diff[pos], 0.0)
        for j, name in enumerate(_NUM):
            data[f"D_{name}_{tag}"] = shifted[:, j]
    agg = pd.DataFrame(
        {
            "exporter": pd.Categorical.from_codes(u_exp, categories=names),
            "importer": pd.Categorical.from_codes(u_imp, categories=names),
            "grain": u_grain,
            "idx": u_idx,
            **data,
        }
    )
    # rows in order of first appearance in the trade table: deterministic for the same input
    return agg


def _totals(prod: pd.DataFrame, trade: pd.DataFrame) -> pd.DataFrame:
    """Per participant, flow (export, import, production) and period: own totals at the series' grain."""
    columns = ["participant", "flow", "grain", "idx", "carats", "value_usd", "n_value"]
    # participants numbered in alphabetical order, so the output is sorted by name
    names_sorted = np.array(sorted(_labels(trade["participant"], prod["participant"])), dtype=object)
    index = pd.Index(names_sorted)
    parts = []
    for frame, flows in ((trade, None), (prod, "production")):
        if not len(frame):
            continue
        f = (
            np.where((frame["flow"] == "export").to_numpy(), 0, 1)
            if flows is None
            else np.full(len(frame), 2)
        )
        parts.append(
            (
                _positions(frame["participant"], index),
                f.astype(np.int64),
                frame["year"].to_numpy(),
                frame["grain"].to_numpy(),
                frame["part"].to_numpy(),
                frame["carats"].to_numpy(),
                frame["value_usd"].to_numpy(dtype="float64"),
            )
        )
    if not parts:
        return pd.DataFrame(columns=columns)
    who, flow, year, grain, part, ct, usd = (np.concatenate(x) for x in zip(*parts, strict=True))
    series = who.astype(np.int64) * 3 + flow
    sgrain = _group_max(series, grain)
    idx = period_index(year, grain, part, sgrain)
    key = (series * 3 + sgrain) * 1_000_000 + idx
    inv, uniq = pd.factorize(key)  # hash the rows, then sort only the distinct keys
    order = np.argsort(uniq)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    uniq, inv = np.asarray(uniq)[order], rank[inv]
    has_value = ~np.isnan(usd)
    n_rows = np.bincount(inv, minlength=len(uniq))
    n_value = np.bincount(inv, has_value.astype(np.int64), minlength=len(uniq))
    value = np.bincount(inv, np.where(has_value, usd, 0.0), minlength=len(uniq))
    u_series = uniq // 1_000_000 // 3
    flow_names = np.array(["export", "import", "production"], dtype=object)
    return pd.DataFrame(
        {
            "participant": names_sorted[u_series // 3],
            "flow": flow_names[u_series % 3],
            "grain": (uniq // 1_000_000) % 3,
            "idx": uniq % 1_000_000,
            "carats": np.bincount(inv, ct, minlength=len(uniq)),
            "value_usd": np.where(n_value < n_rows, np.nan, value),  # a missing value makes the total unknown
            "n_value": n_value,
        }
    )
