"""Check ``jump``: change points in a participant's series beyond its normal variation (ruptures)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._core import Settings, StatsData, _finding, _fmt, _group_codes, _med
from ._periods import index_label


def _change_points(y: np.ndarray, s: Settings) -> list[tuple[int, float, float]]:
    """Return the flagged change points of one series: (position, change in log units, in noise units)."""
    import ruptures

    n = len(y)
    diffs = np.diff(y)
    sigma = max(1.4826 * _med(np.abs(diffs - _med(diffs))) / math.sqrt(2), s.jump_noise_floor)
    z = (y - _med(y)) / sigma
    bkps = ruptures.KernelCPD(kernel="linear", min_size=1).fit(z).predict(pen=s.jump_penalty * math.log(n))
    edges = [0, *[int(b) for b in bkps]]
    segments = list(zip(edges[:-1], edges[1:], strict=True))
    out = []
    prev_flagged: tuple[int, float] | None = None
    for k in range(1, len(segments)):
        (a0, a1), (b0, b1) = segments[k - 1], segments[k]
        before = float(_med(y[max(a0, a1 - 4) : a1]))
        after = float(_med(y[b0 : min(b1, b0 + 4)]))
        delta = after - before
        if abs(delta) / sigma < s.jump_z or abs(delta) < math.log(s.jump_min_ratio) or b0 < 3:
            continue  # too small, or too little history before it
        if prev_flagged is not None and k >= 2 and a1 - a0 <= 2 and prev_flagged[0] == a0:
            p0, p1 = segments[k - 2]
            level = float(_med(y[max(p0, p1 - 4) : p1]))
            if abs(after - level) < 0.5 * abs(delta):
                continue  # the end of a short spike already flagged: back to the earlier level
        out.append((b0, delta, delta / sigma))
        prev_flagged = (b0, delta)
    return out


def check_jump(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag changes from the previous periods beyond a series' normal variation (ruptures PELT)."""
    t = data.totals
    if t is None or not len(t):
        return []
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    labels_all = index_label(t["idx"].to_numpy(), t["grain"].to_numpy())
    series = _group_codes(t, ["participant", "flow"])
    starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]])
    ends = np.r_[starts[1:], len(t)]
    who_all = t["participant"].to_numpy(dtype=object)
    flow_all = t["flow"].to_numpy(dtype=object)
    min_log = math.log(s.jump_min_ratio)
    for measure, unit in (("carats", "ct"), ("value_usd", "US$")):
        values = t[measure].to_numpy(dtype="float64")
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            if b - a < s.jump_min_points:
                continue
            x = values[a:b]
            if not np.isfinite(x).all() or x.max() <= 0:
                continue
            c = max(1.0, 0.01 * float(_med(x)))
            y = np.log(x + c)
            if y.max() - y.min() < min_log:
                continue  # no change of that size anywhere in the series
            who, flow = who_all[a], flow_all[a]
            labels = labels_all[a:b]
            for pos, _delta, zz in _change_points(y, s):
                before = x[max(0, pos - 4) : pos]
                base = _med(before)
                ratio = f"x{x[pos] / base:.2f}" if base > 0 else "from zero"
                text = (
                    f"{measure.replace('_', ' ')}: {_fmt(x[pos], unit)} against a median of "
                    f"{_fmt(float(_med(before)), unit)} over the previous {len(before)} periods "
                    f"({ratio}, {zz:+.1f} noise units)"
                )
                key = (who, flow, labels[pos])
                detail = f"{flow} of {who}, change point (ruptures PELT): {text}"
                prev = found.get(key)
                if prev is not None:  # the other measure changed in the same period: one finding, both texts
                    prev["detail"] += "; " + text
                    if abs(zz) <= prev["score"]:
                        continue
                    detail = prev["detail"]
                found[key] = _finding(
                    who, labels[pos], "jump", "", x[pos], float(_med(before)), abs(zz), detail, flow
                )
    return list(found.values())
