"""Adding a month's batch to the register: certificates checked against the classify results of parcels."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import DuplicateRecordError, InputError, Problem
from . import _tables as T
from ._certificate_checks import DEFAULT_TOLERANCES, _certificate_flags
from ._compliance import ComplianceList
from ._connection import RegisterBase, _now, _tool_version, _user
from ._inputs import (
    CERTIFICATE_COLUMNS,
    SIZE_EDGES_CT,
    _float_or_none,
    read_certificates,
    read_measured,
    read_parcel_sheet,
    read_photos,
    read_results,
)

logger = logging.getLogger(__name__)


class Adding(RegisterBase):
    """The adding part of :class:`~footprint.review.Register`: batches and reference footprints."""

    def add_batch(
        self,
        certificates: str | os.PathLike[str],
        results: str | os.PathLike[str],
        *,
        parcels: str | os.PathLike[str] | None = None,
        stones: str | os.PathLike[str] | None = None,
        photos: str | os.PathLike[str] | None = None,
        compliance: str | os.PathLike[str] | None = None,
        by: str | None = None,
        checked_on: str | _dt.date | None = None,
        tolerances: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """Add a month's certificates with the classify results of their parcels, checking each certificate.

        Parameters
        ----------
        certificates : path
            Certificates CSV (:func:`~footprint.review.read_certificates`).
        results : path
            ``footprint classify`` results CSV, with its ``.audit.json`` beside it.
        parcels : path, optional
            The parcels sheet given to classify (links ``parcel_id`` to
            ``kp_certificate``; its ``declared_value_usd`` is the parcel's
            value). Without it the certificates need a ``parcel_id`` column.
        stones : path, optional
            The stones file given to classify: measured carats, quality mix
            and size classes. Without it carats and values are the
            certificate's, and the carat and HS-code checks cannot run.
        photos : path, optional
            A folder of parcel pictures (names starting with the parcel id);
            names and SHA-256 are recorded.
        compliance : path, optional
            Compliance list CSV; default the bundled SYNTHETIC example.
        by : str, optional
            Who adds the batch (default: the login name).
        checked_on : date or ISO str, optional
            The day of the check, for expired certificates (default: today, UTC).
        tolerances : dict, optional
            Overrides of :data:`DEFAULT_TOLERANCES`.

        Returns
        -------
        dict
            ``batch_id``, ``parcels``, ``certificates``, ``flags`` (code -> count),
            ``synthetic``, ``months``.

        Raises
        ------
        InputError
            Problems in any file (all listed, by file, row and field); a
            parcel already in the register (:class:`DuplicateRecordError`).
        """
        from sqlalchemy import insert, select

        tol = {**DEFAULT_TOLERANCES, **(tolerances or {})}
        on = (
            checked_on.isoformat()
            if isinstance(checked_on, _dt.date)
            else (checked_on or _dt.datetime.now(_dt.UTC).date().isoformat())
        )
        try:  # a day the certificates' validity is judged on: a real date, YYYY-MM-DD
            if len(on) != 10:
                raise ValueError
            on = _dt.date.fromisoformat(on).isoformat()
        except ValueError:
            raise InputError(
                "bad day of the check",
                [Problem(None, None, "checked_on", on, "must be a date YYYY-MM-DD")],
            ) from None
        certs = read_certificates(certificates)
        res = read_results(results)
        comp = ComplianceList(compliance)
        sheet = read_parcel_sheet(parcels) if parcels is not None else None
        measured = read_measured(stones) if stones is not None else None
        who = _user(by)

        # link parcels to certificate rows
        problems: list[Problem] = []
        first_row: dict[str, dict[str, Any]] = {}
        repeated: Counter[str] = Counter(r["kp_certificate"] for r in certs.records)
        for r in certs.records:
            first_row.setdefault(r["kp_certificate"], r)
        link: dict[str, str] = {}
        if sheet is not None:
            link = dict(zip(sheet["parcel_id"], sheet["kp_certificate"], strict=True))
        for r in certs.records:
            if r["parcel_id"]:
                link.setdefault(r["parcel_id"], r["kp_certificate"])
        values = {}
        if sheet is not None and "declared_value_usd" in sheet.columns:
            values = dict(zip(sheet["parcel_id"], sheet["declared_value_usd"], strict=True))
        result_rows = res.frame.to_dict("records")
        for i, row in enumerate(result_rows, start=1):
            cert_no = link.get(row["parcel_id"])
            if cert_no is None:
                problems.append(
                    Problem(
                        res.file,
                        i,
                        "parcel_id",
                        row["parcel_id"],
                        "no certificate for this parcel (give --parcels, or a parcel_id column "
                        "in the certificates)",
                    )
                )
            elif cert_no not in first_row:
                problems.append(
                    Problem(
                        res.file, i, "kp_certificate", cert_no, f"parcel's certificate is not in {certs.file}"
                    )
                )
        used = {link.get(r["parcel_id"]) for r in result_rows}
        for r in certs.records:
            if r["kp_certificate"] not in used:
                problems.append(
                    Problem(
                        certs.file,
                        r["row"],
                        "kp_certificate",
                        r["kp_certificate"],
                        f"no parcel of {res.file} is on this certificate",
                    )
                )
        if measured is not None:
            for i, row in enumerate(result_rows, start=1):
                if row["parcel_id"] not in measured.by_parcel:
                    problems.append(
                        Problem(
                            res.file,
                            i,
                            "parcel_id",
                            row["parcel_id"],
                            "parcel has no stones in the stones file",
                        )
                    )
        if problems:
            raise InputError("the certificates, results and parcels do not match", problems)

        by_cert: dict[str, list[dict[str, Any]]] = {}
        for row in result_rows:
            by_cert.setdefault(link[row["parcel_id"]], []).append(row)
        photo_map = read_photos(photos, [r["parcel_id"] for r in result_rows]) if photos is not None else {}

        now = _now()
        flag_counts: Counter[str] = Counter()
        months: set[str] = set()
        with self._tx() as conn:
            existing = set(
                conn.execute(
                    select(T.parcels.c.parcel_id).where(
                        T.parcels.c.parcel_id.in_([r["parcel_id"] for r in result_rows])
                    )
                ).scalars()
            )
            if existing:
                raise DuplicateRecordError(
                    "parcels already in the register (a register is append-only: decide on them instead)",
                    [
                        Problem(res.file, i, "parcel_id", r["parcel_id"], "already in the register")
                        for i, r in enumerate(result_rows, start=1)
                        if r["parcel_id"] in existing
                    ],
                )
            known_certs = set(
                conn.execute(
                    select(T.certificates.c.kp_certificate).where(
                        T.certificates.c.kp_certificate.in_(list(first_row))
                    )
                ).scalars()
            )
            batch_id = conn.execute(
                insert(T.batches).values(
                    recorded_at=now,
                    recorded_by=who,
                    checked_on=on,
                    certificates_file=certs.file,
                    certificates_sha256=certs.sha256,
                    results_file=res.file,
                    results_sha256=res.sha256,
                    stones_sha256=measured.sha256 if measured else None,
                    compliance_file=str(comp.path),
                    compliance_sha256=comp.sha256,
                    model_fingerprint=res.model_fingerprint,
                    model_version=res.model_version,
                    store_hash=res.store_hash,
                    thresholds_version=res.thresholds_version,
                    tool_version=_tool_version(),
                    synthetic=bool(res.synthetic or certs.synthetic or comp.synthetic),
                    audit=json.dumps(
                        {
                            k: res.audit.get(k)
                            for k in ("command", "user", "started_utc", "model", "thresholds")
                        },
                        default=str,
                    ),
                )
            ).inserted_primary_key[0]
            cert_ids: dict[int, int] = {}
            for r in certs.records:
                cert_ids[r["row"]] = conn.execute(
                    insert(T.certificates).values(
                        batch_id=batch_id,
                        source_row=r["row"],
                        **{k: r[k] for k in CERTIFICATE_COLUMNS},
                    )
                ).inserted_primary_key[0]
            for number, rows in by_cert.items():
                cert = first_row[number]
                place = comp.locate(cert["declared_origin"], cert["issued_on"])
                m = [measured.by_parcel[r["parcel_id"]] for r in rows] if measured else None
                cert_flags = _certificate_flags(
                    cert, rows, m, place, tol, on, duplicate=repeated[number] > 1 or number in known_certs
                )
                months.add(cert["issued_on"][:7])
                n_total = sum(int(float(r["n_stones"])) for r in rows)
                for row in rows:
                    pid = row["parcel_id"]
                    mm = measured.by_parcel[pid] if measured else {}
                    n = int(float(row["n_stones"]))
                    if mm.get("n_weighed") and mm["n_weighed"] == mm["n_stones"]:
                        carats, is_measured = float(mm["carats"]), True
                    else:
                        carats, is_measured = cert["carats"] * n / max(n_total, 1), False
                    value = values.get(pid)
                    if value is None or not math.isfinite(value):
                        value = cert["value_usd"] * n / max(n_total, 1)
                    flags = list(cert_flags)
                    if row["verdict"] != "consistent":
                        flags.append(
                            (
                                "verdict",
                                f"verdict '{row['verdict']}' (best zone {row['best_zone']}, "
                                f"log10 LR {row['log10_lr']}, foreign fraction "
                                f"{row['foreign_fraction']}){_why_detail(row)}",
                            )
                        )
                    if place.zone and row.get("declared_zone") and place.zone != row["declared_zone"]:
                        flags.append(
                            (
                                "zone_mismatch",
                                f"{cert['declared_origin']} lies in {place.zone}, the "
                                f"parcel was classified against {row['declared_zone']}",
                            )
                        )
                    pk = conn.execute(
                        insert(T.parcels).values(
                            batch_id=batch_id,
                            certificate_id=cert_ids[cert["row"]],
                            parcel_id=pid,
                            kp_certificate=number,
                            month=cert["issued_on"][:7],
                            exporter=cert["exporter"],
                            declared_zone=row.get("declared_zone") or None,
                            declared_origin=cert["declared_origin"],
                            zone=place.zone,
                            subprefecture=place.subprefecture,
                            site=place.site,
                            compliance=place.status,
                            compliance_ref=place.decision_ref,
                            n_stones=n,
                            carats=carats,
                            carats_measured=is_measured,
                            mass_sq_sum=mm.get("mass_sq_sum") if is_measured else None,
                            value_usd=float(value),
                            n_quality=mm.get("n_quality"),
                            n_gem=mm.get("n_gem"),
                            n_industrial=mm.get("n_industrial"),
                            size_counts=json.dumps(mm["size_counts"]) if mm.get("size_counts") else None,
                            verdict=row["verdict"],
                            best_zone=row.get("best_zone") or None,
                            log10_lr=_float_or_none(row["log10_lr"]),
                            foreign_fraction=_float_or_none(row["foreign_fraction"]),
                            foreign_fraction_lo=_float_or_none(row["foreign_fraction_lo"]),
                            foreign_fraction_hi=_float_or_none(row["foreign_fraction_hi"]),
                            novelty_p=_float_or_none(row["novelty_p"]),
                            model_fingerprint=res.model_fingerprint,
                            store_hash=res.store_hash,
                            thresholds_version=res.thresholds_version,
                            synthetic=bool(res.synthetic),
                            recorded_at=now,
                            recorded_by=who,
                        )
                    ).inserted_primary_key[0]
                    for code, detail in flags:
                        conn.execute(insert(T.flags).values(parcel_pk=pk, code=code, detail=detail))
                        flag_counts[code] += 1
                    for name, sha in photo_map.get(pid, []):
                        conn.execute(insert(T.photos).values(parcel_pk=pk, file=name, sha256=sha))
        logger.info(
            "register %s: batch %s, %d parcel(s) on %d certificate(s)",
            self.url,
            batch_id,
            len(result_rows),
            len(certs.records),
        )
        return {
            "batch_id": int(batch_id),
            "parcels": len(result_rows),
            "certificates": len(certs.records),
            "flags": dict(sorted(flag_counts.items())),
            "months": sorted(months),
            "synthetic": bool(res.synthetic or certs.synthetic),
            "compliance": str(comp.path),
            "compliance_synthetic": comp.synthetic,
            "tolerances": tol,
        }

    def set_reference_footprint(
        self, zone: str, masses_ct: Sequence[float], *, source: str, by: str | None = None
    ) -> None:
        """Record a zone's reference size distribution (from reference stone masses, ct).

        The latest one recorded for a zone is the one ``history`` measures
        the distance of every month's size distribution from.
        """
        import numpy as np
        from sqlalchemy import insert

        m = np.asarray(masses_ct, dtype=float)
        m = m[np.isfinite(m) & (m > 0)]
        if m.size == 0:
            raise InputError(f"reference footprint for {zone}: no stone masses")
        counts = np.histogram(m, bins=np.asarray(SIZE_EDGES_CT))[0].astype(int).tolist()
        with self._tx() as conn:
            conn.execute(
                insert(T.reference_footprints).values(
                    zone=zone,
                    size_counts=json.dumps(counts),
                    source=source,
                    recorded_at=_now(),
                    recorded_by=_user(by),
                )
            )


def _why_detail(row: Mapping[str, Any]) -> str:
    """Return the "why" columns of a results row (issue 12) as text; "" when the file has none."""
    parts = [f"{label} {row[key]}" for key, label in (("flags", "flags"), ("mixed_p", "mixed p"),
                                                       ("typical_sites", "typical of"),
                                                       ("top_fields", "fields"))
             if row.get(key) not in (None, "")]
    return "; " + "; ".join(parts) if parts else ""
