"""Reading the register: parcels with their decisions, flags and photos; history and the month's summary."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..exceptions import InputError, Problem
from . import _tables as T
from ._connection import RegisterBase, _is_month, _safe_url
from ._decisions import STATUSES, decision_status


class Reading(RegisterBase):
    """The reading part of :class:`~footprint.review.Register`: parcels, history, month report."""

    def reference_footprints(self) -> dict[str, list[int]]:
        """Return the latest reference size counts per zone."""
        from sqlalchemy import select

        with self._engine.connect() as conn:
            rows = conn.execute(
                select(T.reference_footprints).order_by(T.reference_footprints.c.id)
            ).mappings()
            return {r["zone"]: json.loads(r["size_counts"]) for r in rows}

    def _parcel_rows(self, conn: Any, where: Any = None) -> list[dict[str, Any]]:
        from sqlalchemy import select

        query = select(T.parcels).order_by(T.parcels.c.month, T.parcels.c.exporter, T.parcels.c.id)
        if where is not None:
            query = query.where(where)
        parcels = [dict(r) for r in conn.execute(query).mappings()]
        if not parcels:
            return []
        pks = [p["id"] for p in parcels]
        decisions: dict[int, list[dict[str, Any]]] = {}
        flags: dict[int, list[dict[str, Any]]] = {}
        photos: dict[int, list[dict[str, Any]]] = {}
        for chunk in range(0, len(pks), 500):
            part = pks[chunk : chunk + 500]
            for r in conn.execute(
                select(T.decisions).where(T.decisions.c.parcel_pk.in_(part)).order_by(T.decisions.c.id)
            ).mappings():
                decisions.setdefault(r["parcel_pk"], []).append(dict(r))
            for r in conn.execute(
                select(T.flags).where(T.flags.c.parcel_pk.in_(part)).order_by(T.flags.c.id)
            ).mappings():
                flags.setdefault(r["parcel_pk"], []).append({"code": r["code"], "detail": r["detail"]})
            for r in conn.execute(
                select(T.photos).where(T.photos.c.parcel_pk.in_(part)).order_by(T.photos.c.id)
            ).mappings():
                photos.setdefault(r["parcel_pk"], []).append({"file": r["file"], "sha256": r["sha256"]})
        for p in parcels:
            p["decisions"] = decisions.get(p["id"], [])
            p["flags"] = flags.get(p["id"], [])
            p["photos"] = photos.get(p["id"], [])
            p["status"], p["approvers"] = decision_status(p["decisions"])
            p["size_counts"] = json.loads(p["size_counts"]) if p["size_counts"] else None
            p["usd_per_ct"] = p["value_usd"] / p["carats"] if p["carats"] else None
        return parcels

    def parcels(
        self,
        *,
        month: str | None = None,
        status: str | None = None,
        exporter: str | None = None,
        zone: str | None = None,
        subprefecture: str | None = None,
        site: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return parcels (with decisions, flags, photos and status), oldest month first.

        Parameters
        ----------
        month : str, optional
            ``YYYY-MM``.
        status : {"pending", "approved", "held", "referred"}, optional
        exporter, zone, subprefecture, site : str, optional
            Exact names (as on the certificates / compliance list).
        start, end : str, optional
            First and last month ``YYYY-MM`` (inclusive).
        """
        from sqlalchemy import and_

        if status is not None and status not in STATUSES:
            raise InputError(
                f"status must be one of {', '.join(STATUSES)}",
                [Problem(None, None, "status", status, "unknown status")],
            )
        for name, value in (("month", month), ("from", start), ("to", end)):
            if value is not None and not _is_month(value):
                raise InputError(
                    f"--{name} must be a month YYYY-MM", [Problem(None, None, name, value, "must be YYYY-MM")]
                )
        c = T.parcels.c
        conds = [
            cond
            for cond in (
                c.month == month if month else None,
                c.exporter == exporter if exporter else None,
                c.zone == zone if zone else None,
                c.subprefecture == subprefecture if subprefecture else None,
                c.site == site if site else None,
                c.month >= start if start else None,
                c.month <= end if end else None,
            )
            if cond is not None
        ]
        with self._engine.connect() as conn:
            rows = self._parcel_rows(conn, and_(*conds) if conds else None)
        return [r for r in rows if status is None or r["status"] == status]

    def list(
        self, *, month: str | None = None, status: str | None = None, exporter: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the parcels of a month / status / exporter (see :meth:`parcels`)."""
        return self.parcels(month=month, status=status, exporter=exporter)

    def history(
        self,
        *,
        exporter: str | None = None,
        site: str | None = None,
        subprefecture: str | None = None,
        zone: str | None = None,
        start: str | None = None,
        end: str | None = None,
        rule: Any = None,
    ) -> dict[str, Any]:
        """Monthly control charts per exporter (see :func:`footprint.review.control_charts`)."""
        from ._history import ControlRule, control_charts

        rows = self.parcels(
            exporter=exporter, site=site, subprefecture=subprefecture, zone=zone, start=start, end=end
        )
        out = control_charts(rows, self.reference_footprints(), rule or ControlRule())
        out["selection"] = {
            "exporter": exporter,
            "site": site,
            "subprefecture": subprefecture,
            "zone": zone,
            "from": start,
            "to": end,
        }
        out["register"] = _safe_url(self.url)
        return out

    def month_report(self, month: str, *, rule: Any = None) -> dict[str, Any]:
        """Summarise a month for the KP monitoring team: parcels, verdicts, decisions, open items, flags."""
        if not _is_month(month):
            raise InputError(
                "--month must be YYYY-MM", [Problem(None, None, "month", month, "must be YYYY-MM")]
            )
        rows = self.parcels(month=month)
        history = self.history(end=month, rule=rule)
        charts = [m for s in history["series"] for m in s["months"] if m["month"] == month and m["flags"]]
        open_items = [
            {
                "parcel_id": r["parcel_id"],
                "status": r["status"],
                "approvers": r["approvers"],
                "flags": [f["code"] for f in r["flags"]],
            }
            for r in rows
            if r["status"] != "approved"
        ]
        return {
            "month": month,
            "register": _safe_url(self.url),
            "synthetic": any(r["synthetic"] for r in rows),
            "n_parcels": len(rows),
            "n_stones": sum(r["n_stones"] for r in rows),
            "carats": sum(r["carats"] for r in rows),
            "value_usd": sum(r["value_usd"] for r in rows),
            "verdicts": dict(Counter(r["verdict"] for r in rows)),
            "statuses": {s: sum(r["status"] == s for r in rows) for s in STATUSES},
            "flags": dict(Counter(f["code"] for r in rows for f in r["flags"])),
            "parcels": rows,
            "open_items": open_items,
            "history_flags": [{"exporter": m["exporter"], "flags": m["flags"]} for m in charts],
            "rule": history["rule"],
            "versions": sorted(
                {(r["model_fingerprint"][:12], r["store_hash"] or "", r["thresholds_version"]) for r in rows}
            ),
        }
