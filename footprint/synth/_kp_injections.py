"""Anomalies injected into the SYNTHETIC KP statistics at known places, with the findings each causes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Why an injection also explains findings in the quarters next to it.
NEIGHBOUR_NOTE = (
    "next to the anomalous quarter: shipments recorded across its boundary cannot be reconciled with it"
)


def _qlabel(q0: int, q: int) -> str:
    return f"{(q0 + q) // 4}-Q{(q0 + q) % 4 + 1}"


def _inject(
    rng: np.random.Generator,
    prod: pd.DataFrame,
    trade: pd.DataFrame,
    truth: list[dict[str, Any]],
    *,
    per_check: int,
    role: dict[str, str],
    q0: int,
    nq: int,
    years: np.ndarray,
) -> pd.DataFrame:
    """Modify ``prod`` in place and ``trade`` (returned), and record what each injection should cause."""
    busy: set[tuple[str, int]] = set()  # (participant, year) already touched
    first_year = int(years[0])
    n_years = len(years)
    inj = 0

    def year_of(q: int) -> int:
        return (q0 + q) // 4

    def free(*items: tuple[str, int]) -> bool:
        return not any(i in busy for i in items)

    def take(*items: tuple[str, int]) -> None:
        busy.update(items)

    def add(
        kind: str,
        row_role: str,
        check: str,
        participant: str,
        period: str,
        partner: str,
        factor: float,
        text: str,
    ) -> None:
        truth.append(
            {
                "injection_id": inj,
                "kind": kind,
                "role": row_role,
                "check": check,
                "participant": participant,
                "period": period,
                "partner": partner,
                "factor": round(float(factor), 3),
                "description": text,
            }
        )

    exp_mask = (trade["flow"] == "export").to_numpy()
    # candidate pair quarters: material exports away from the edges
    cand = trade[
        exp_mask
        & (trade["q"] >= 2).to_numpy()
        & (trade["q"] < nq - 2).to_numpy()
        & (trade["carats"] >= 2000).to_numpy()
        & (trade["value_usd"] >= 200_000).to_numpy()
    ]

    def record(participant: str, flow: str, partner: str, q: int) -> np.ndarray:
        return np.flatnonzero(
            (
                (trade["participant"] == participant)
                & (trade["flow"] == flow)
                & (trade["partner"] == partner)
                & (trade["q"] == q)
            ).to_numpy()
        )

    def pick_pair() -> tuple[str, str, int] | None:
        for _ in range(500):
            r = cand.iloc[int(rng.integers(len(cand)))]
            a, b, q = str(r["participant"]), str(r["partner"]), int(r["q"])
            y = year_of(q)
            if free((a, y), (b, y)) and len(record(b, "import", a, q)):
                return a, b, q
        return None

    def factor(low: tuple[float, float], high: tuple[float, float]) -> float:
        return float(rng.uniform(*low) if rng.random() < 0.5 else rng.uniform(*high))

    for _ in range(per_check):  # mirror: the importer's record of one pair quarter scaled
        got = pick_pair()
        if got is None:
            break
        a, b, q = got
        f = factor((0.1, 0.35), (2.8, 4.0))
        rows = record(b, "import", a, q)
        trade.loc[rows, ["carats", "value_usd"]] *= f
        y = year_of(q)
        take((a, y), (b, y))
        add("mirror", "primary", "mirror", a, _qlabel(q0, q), b, f, f"{b}'s imports from {a} scaled x{f:.2f}")
        add(
            "mirror",
            "secondary",
            "jump",
            b,
            _qlabel(q0, q),
            "",
            f,
            "the scaled record moves the importer's total",
        )
        add("mirror", "secondary", "balance", b, str(y), "", f, "less imports, exports may exceed supply")
        add("mirror", "secondary", "certificates", a, _qlabel(q0, q), b, f, "carats per certificate scaled")
        for qq in (q - 1, q + 1):
            add("mirror", "secondary", "mirror", a, _qlabel(q0, qq), b, f, NEIGHBOUR_NOTE)
        inj += 1

    exporters = sorted(set(trade.loc[exp_mask, "participant"]))
    for _ in range(per_check):  # unit_value: all of one exporter's values in a quarter scaled
        for _ in range(500):
            p = exporters[int(rng.integers(len(exporters)))]
            q = int(rng.integers(4, nq - 4))
            y = year_of(q)
            rows = np.flatnonzero(
                exp_mask & (trade["participant"] == p).to_numpy() & (trade["q"] == q).to_numpy()
            )
            if len(rows) and trade.loc[rows, "carats"].sum() >= 2000 and free((p, y)):
                partners = trade.loc[rows, "partner"].tolist()
                if all(free((b, y)) for b in partners) or len(partners) <= 2:
                    break
        else:
            break
        f = factor((0.25, 0.45), (2.2, 3.5))
        trade.loc[rows, "value_usd"] *= f
        take((p, y), (p, y + 1), (p, y - 1))
        period = _qlabel(q0, q)
        add(
            "unit_value",
            "primary",
            "unit_value",
            p,
            period,
            "",
            f,
            f"{p}'s export values in {period} x{f:.2f}",
        )
        add("unit_value", "secondary", "jump", p, period, "", f, "export value series jumps")
        add("unit_value", "secondary", "jump", p, _qlabel(q0, q + 1), "", f, "and comes back")
        for b in partners:
            add("unit_value", "secondary", "mirror", p, period, b, f, "partners' values disagree")
            for qq in (q - 1, q + 1):
                add("unit_value", "secondary", "mirror", p, _qlabel(q0, qq), b, f, NEIGHBOUR_NOTE)
            add("unit_value", "secondary", "certificates", p, period, b, f, "US$ per certificate off")
            add(
                "unit_value", "secondary", "unit_value", b, period, "", f, "partner's import unit value moves"
            )
        inj += 1

    movers = [p for p in exporters if role.get(p) in ("producer", "trading")]
    for _ in range(per_check):  # balance: a year of exports (both sides' records) scaled up
        for _ in range(500):
            p = movers[int(rng.integers(len(movers)))]
            y = int(rng.integers(first_year + 1, first_year + n_years - 1))
            if free((p, y)) and free((p, y + 1)):
                break
        else:
            break
        qs = np.arange(4) + (y * 4 - q0)
        own = exp_mask & (trade["participant"] == p).to_numpy() & np.isin(trade["q"], qs)
        supply = float(
            prod.loc[(prod["participant"] == p) & (prod["year"] == y), "carats"].sum()
            + trade.loc[
                (~exp_mask) & (trade["participant"] == p).to_numpy() & np.isin(trade["q"], qs), "carats"
            ].sum()
        )
        exported = float(trade.loc[own, "carats"].sum())
        if exported <= 0 or supply <= 0:
            continue
        target = float(rng.uniform(1.6, 2.5))  # exports set to 1.6-2.5 x production plus imports
        f = max(1.0, target * supply / exported)
        mirror = (~exp_mask) & (trade["partner"] == p).to_numpy() & np.isin(trade["q"], np.r_[qs, qs[-1] + 1])
        partners = sorted(set(trade.loc[own, "partner"]))
        trade.loc[own | mirror, ["carats", "value_usd"]] *= f
        take((p, y), (p, y + 1))
        add(
            "balance",
            "primary",
            "balance",
            p,
            str(y),
            "",
            f,
            f"{p}'s exports in {y} x{f:.2f} (partners agree), {target:.2f} x its production plus imports",
        )
        for q in [*qs.tolist(), int(qs[-1]) + 1]:
            add("balance", "secondary", "jump", p, _qlabel(q0, q), "", f, "exports jump for a year")
            for b in partners:
                add("balance", "secondary", "jump", b, _qlabel(q0, q), "", f, "partner's imports jump")
                add(
                    "balance",
                    "secondary",
                    "mirror",
                    p,
                    _qlabel(q0, q),
                    b,
                    f,
                    "the year's first or last shipments recorded across the boundary of the scaled year",
                )
                add(
                    "balance",
                    "secondary",
                    "certificates",
                    p,
                    _qlabel(q0, q),
                    b,
                    f,
                    "carats per certificate x f",
                )
                add(
                    "balance",
                    "secondary",
                    "unit_value",
                    b,
                    _qlabel(q0, q),
                    "",
                    f,
                    "partner's import mix changes",
                )
        inj += 1

    producers = sorted(set(prod["participant"]))
    for _ in range(per_check):  # jump: production level shift from a half-year on
        for _ in range(500):
            p = producers[int(rng.integers(len(producers)))]
            y = int(rng.integers(first_year + 2, first_year + n_years - 1))
            if all(free((p, yy)) for yy in range(y - 1, first_year + n_years)):
                break  # the shift lasts to the end: no other injection may sit on those years
        else:
            break
        h = int(rng.integers(1, 3))
        up = rng.random() < 0.7
        f = float(rng.uniform(2.5, 3.5) if up else rng.uniform(0.2, 0.3))
        later = (prod["participant"] == p) & ((prod["year"] > y) | ((prod["year"] == y) & (prod["h"] >= h)))
        prod.loc[later, ["carats", "value_usd"]] *= f
        take(*[(p, yy) for yy in range(y, first_year + n_years)])
        add("jump", "primary", "jump", p, f"{y}-H{h}", "", f, f"{p}'s production x{f:.2f} from {y}-H{h} on")
        if not up:
            for yy in range(y, first_year + n_years):
                add("jump", "secondary", "balance", p, str(yy), "", f, "exports now exceed production")
        inj += 1

    everyone = sorted(set(trade["participant"]))
    for _ in range(per_check):  # missing: a participant silent for a quarter, or without imports
        for _ in range(500):
            p = everyone[int(rng.integers(len(everyone)))]
            q = int(rng.integers(4, nq - 4))
            y = year_of(q)
            if free((p, y)):
                break
        else:
            break
        silent = rng.random() < 0.5
        sel = (trade["participant"] == p).to_numpy() & (trade["q"] == q).to_numpy()
        if not silent:
            sel &= ~exp_mask
        if not sel.any():
            continue
        removed_partners = trade.loc[sel, "partner"].tolist()
        trade = trade[~sel].reset_index(drop=True)
        exp_mask = (trade["flow"] == "export").to_numpy()
        take((p, y))
        what = "no figures at all" if silent else "no imports"
        add(
            "missing",
            "primary",
            "missing",
            p,
            _qlabel(q0, q),
            "",
            0.0,
            f"{p} reports {what} for {_qlabel(q0, q)}",
        )
        add("missing", "secondary", "balance", p, str(y), "", 0.0, "a quarter of imports unreported")
        for b in sorted(set(removed_partners)):
            for qq in (q - 1, q + 1):
                add("missing", "secondary", "mirror", p, _qlabel(q0, qq), b, 0.0, NEIGHBOUR_NOTE)
                add("missing", "secondary", "certificates", p, _qlabel(q0, qq), b, 0.0, NEIGHBOUR_NOTE)
        inj += 1

    cand = trade[
        (trade["flow"] == "export").to_numpy()
        & (trade["q"] >= 2).to_numpy()
        & (trade["q"] < nq - 2).to_numpy()
        & (trade["carats"] >= 500).to_numpy()
    ]
    for _ in range(per_check):  # certificates: the exporter's count inflated, or zero
        got = None
        for _ in range(500):
            r = cand.iloc[int(rng.integers(len(cand)))]
            a, b, q = str(r["participant"]), str(r["partner"]), int(r["q"])
            if free((a, year_of(q)), (b, year_of(q))) and len(record(b, "import", a, q)):
                got = (a, b, q)
                break
        if got is None:
            break
        a, b, q = got
        rows = record(a, "export", b, q)
        n = float(trade.loc[rows, "certificates"].iloc[0])
        zero = rng.random() < 0.2
        f = 0.0 if zero else float(rng.integers(4, 9))
        trade.loc[rows, "certificates"] = 0.0 if zero else max(n * f, n + 6)
        take((a, year_of(q)), (b, year_of(q)))
        add(
            "certificates",
            "primary",
            "certificates",
            a,
            _qlabel(q0, q),
            b,
            f,
            f"{a}'s export certificates to {b} {'set to 0' if zero else f'x{f:.0f}'}",
        )
        inj += 1
    return trade
