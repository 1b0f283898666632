"""The export review register: certificates, parcels, verdicts, flags and expert decisions.

:class:`Register` is the Python API behind ``footprint review``. Everything
is appended, never edited: a decision is superseded by a later one, which
names the decision it supersedes; every row records who, when, and the model,
reference store and threshold versions behind the verdict (from the classify
run's audit).
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..exceptions import DecisionError, DuplicateRecordError, InputError, Problem, RegisterError
from . import _tables as T
from ._compliance import COMPLIANT, ComplianceList
from ._db import engine_for, migrate, to_url
from ._inputs import (
    HS_CODES,
    SIZE_EDGES_CT,
    read_certificates,
    read_measured,
    read_parcel_sheet,
    read_photos,
    read_results,
)

__all__ = ["DECISIONS", "DEFAULT_TOLERANCES", "STATUSES", "Register", "decision_status"]

logger = logging.getLogger(__name__)

#: Decisions an expert can record.
DECISIONS = ("approve", "hold", "refer")
#: Parcel statuses (``pending``: no decision yet, or approved by one expert only).
STATUSES = ("pending", "approved", "held", "referred")
#: Default tolerances of the certificate checks (stated in every report).
DEFAULT_TOLERANCES = {
    "carats_relative": 0.005,  # 0.5 % of the declared carats ...
    "carats_absolute_ct": 0.01,  # ... or 0.01 ct (a balance's last digit), whichever is larger
    "stones": 0,  # declared stone count must equal the count
    "quality_share": 0.10,  # HS 7102.31 with > 10 % industrial stones, or 7102.21 with > 10 % gem/near-gem
}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _user(by: str | None) -> str:
    name = (by or "").strip() or getpass.getuser()
    return name


def decision_status(decisions: Sequence[dict[str, Any]]) -> tuple[str, list[str]]:
    """Return a parcel's status from its decisions (oldest first) and the current approvers.

    Approval needs two different experts: approvals accumulate until a hold
    or a refer starts over; ``approved`` once two different names approved.
    """
    approvers: list[str] = []
    status = "pending"
    for d in decisions:
        if d["decision"] == "approve":
            if d["decided_by"] not in approvers:
                approvers.append(d["decided_by"])
            status = "approved" if len(approvers) >= 2 else "pending"
        else:
            approvers = []
            status = "held" if d["decision"] == "hold" else "referred"
    return status, approvers


class Register:
    """An open review register (SQLite file or PostgreSQL database).

    Use :meth:`open`; close with :meth:`close` or a ``with`` block.
    """

    def __init__(self, engine: Any, url: str) -> None:
        self._engine = engine
        self.url = url

    # -- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, target: str | os.PathLike[str], *, create: bool = False) -> Register:
        """Open a register, creating it when ``create`` and upgrading its schema to this code's.

        Parameters
        ----------
        target : path or str
            A SQLite file path, or a SQLAlchemy URL (``sqlite:///f.db``,
            ``postgresql+psycopg://user@host:port/db``).
        create : bool
            Create the file / tables when there is no register yet.

        Raises
        ------
        RegisterError
            No register there (and not ``create``), or the database cannot be reached.
        RegisterVersionError
            The register was written by a newer footprint, or is not a register.
        """
        from sqlalchemy.exc import SQLAlchemyError

        url = to_url(target)
        if url.startswith("sqlite:///") and not create:
            path = Path(url[len("sqlite:///") :])
            if not path.is_file():
                raise RegisterError(
                    f"{target}: no review register (file not found; 'footprint review add' creates one)"
                )
        engine = engine_for(url)
        try:
            migrate(engine, create=create)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise RegisterError(
                f"{target}: cannot open the review register ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]})"
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise RegisterError(
                f"{self.url}: register transaction failed ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]})"
            ) from None

    # -- add ---------------------------------------------------------------------------------------

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
                        **{
                            k: r[k]
                            for k in (
                                "kp_certificate",
                                "issued_on",
                                "expires_on",
                                "exporter",
                                "importer_country",
                                "hs_code",
                                "carats",
                                "n_stones",
                                "value_usd",
                                "declared_origin",
                            )
                        },
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
                                f"{row['foreign_fraction']})",
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
                            log10_lr=_f(row["log10_lr"]),
                            foreign_fraction=_f(row["foreign_fraction"]),
                            foreign_fraction_lo=_f(row["foreign_fraction_lo"]),
                            foreign_fraction_hi=_f(row["foreign_fraction_hi"]),
                            novelty_p=_f(row["novelty_p"]),
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

    def reference_footprints(self) -> dict[str, list[int]]:
        """Return the latest reference size counts per zone."""
        from sqlalchemy import select

        with self._engine.connect() as conn:
            rows = conn.execute(
                select(T.reference_footprints).order_by(T.reference_footprints.c.id)
            ).mappings()
            return {r["zone"]: json.loads(r["size_counts"]) for r in rows}

    # -- decisions ---------------------------------------------------------------------------------

    def decide(self, parcel_id: str, decision: str, *, by: str, reason: str | None = None) -> dict[str, Any]:
        """Record an expert's decision on a parcel (appended; supersedes the parcel's previous decision).

        Rules: ``hold`` and ``refer`` need a reason; approving a parcel with
        flags needs a reason; approval needs two different experts (the same
        expert approving twice in a row is refused). Concurrent decisions
        are serialised on the parcel: none is lost, and each names the one
        it supersedes.

        Returns
        -------
        dict
            The decision row plus the parcel's ``status`` after it.

        Raises
        ------
        DecisionError
            A rule above is broken.
        InputError
            No such parcel.
        """
        from sqlalchemy import insert, select

        decision = (decision or "").strip().lower()
        who = (by or "").strip()
        why = (reason or "").strip() or None
        if decision not in DECISIONS:
            raise DecisionError(
                f"decision must be one of {', '.join(DECISIONS)}",
                [Problem(None, None, "decision", decision, "unknown decision")],
            )
        if not who:
            raise DecisionError(
                "a decision needs the expert's name",
                [Problem(None, None, "by", None, "must name the expert")],
            )
        if decision in ("hold", "refer") and not why:
            raise DecisionError(
                f"a {decision} needs a reason",
                [Problem(None, None, "reason", None, f"required for {decision}")],
            )
        with self._tx() as conn:
            query = select(T.parcels).where(T.parcels.c.parcel_id == parcel_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            parcel = conn.execute(query).mappings().first()
            if parcel is None:
                raise InputError(
                    f"no parcel {parcel_id!r} in the register",
                    [Problem(None, None, "parcel_id", parcel_id, "not in the register")],
                )
            previous = [
                dict(r)
                for r in conn.execute(
                    select(T.decisions)
                    .where(T.decisions.c.parcel_pk == parcel["id"])
                    .order_by(T.decisions.c.id)
                ).mappings()
            ]
            status, approvers = decision_status(previous)
            if decision == "approve":
                if status == "approved":
                    raise DecisionError(
                        f"parcel {parcel_id} is already approved by {' and '.join(approvers)}",
                        [Problem(None, None, "decision", decision, "already approved")],
                    )
                if who in approvers:
                    raise DecisionError(
                        f"approval needs two different experts: {who} already approved {parcel_id}",
                        [Problem(None, None, "by", who, "same expert cannot give the second approval")],
                    )
                n_flags = conn.execute(
                    select(T.flags.c.id).where(T.flags.c.parcel_pk == parcel["id"])
                ).first()
                if n_flags is not None and not why:
                    raise DecisionError(
                        f"parcel {parcel_id} has flags: approving it needs a reason",
                        [Problem(None, None, "reason", None, "required to approve a flagged parcel")],
                    )
            row = {
                "parcel_pk": parcel["id"],
                "parcel_id": parcel_id,
                "decision": decision,
                "reason": why,
                "decided_by": who,
                "decided_at": _now(),
                "supersedes": previous[-1]["id"] if previous else None,
                "model_fingerprint": parcel["model_fingerprint"],
                "store_hash": parcel["store_hash"],
                "thresholds_version": parcel["thresholds_version"],
                "tool_version": _tool_version(),
            }
            row["id"] = int(conn.execute(insert(T.decisions).values(**row)).inserted_primary_key[0])
        after, _ = decision_status([*previous, row])
        return {**row, "status": after}

    # -- reading -----------------------------------------------------------------------------------

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


def _safe_url(url: str) -> str:
    """Return the URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url


def _is_month(text: str) -> bool:
    try:
        _dt.date.fromisoformat(text + "-01")
    except (TypeError, ValueError):
        return False
    return len(text) == 7


def _f(text: Any) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _tool_version() -> str:
    from .. import __version__

    return str(__version__)


def _certificate_flags(
    cert: dict[str, Any],
    rows: list[dict[str, Any]],
    measured: list[dict[str, Any]] | None,
    place: Any,
    tol: dict[str, float],
    checked_on: str,
    *,
    duplicate: bool,
) -> list[tuple[str, str]]:
    """Check one certificate against its parcels; each failed check is a (code, detail) flag."""
    out: list[tuple[str, str]] = []
    n_counted = sum(int(float(r["n_stones"])) for r in rows)
    if abs(n_counted - cert["n_stones"]) > tol["stones"]:
        out.append(
            (
                "stones_mismatch",
                f"certificate declares {cert['n_stones']} stones, {n_counted} counted "
                f"(tolerance {int(tol['stones'])})",
            )
        )
    if measured is not None and all(m.get("n_weighed") == m["n_stones"] for m in measured):
        carats = sum(m["carats"] for m in measured)
        allowed = max(tol["carats_absolute_ct"], tol["carats_relative"] * cert["carats"])
        if abs(carats - cert["carats"]) > allowed:
            out.append(
                (
                    "carats_mismatch",
                    f"certificate declares {cert['carats']:.2f} ct, {carats:.2f} ct weighed "
                    f"(tolerance {allowed:.2f} ct)",
                )
            )
    if duplicate:
        out.append(
            (
                "duplicate_certificate",
                f"certificate {cert['kp_certificate']} appears more than once "
                "(in this file or already in the register)",
            )
        )
    if cert["expires_on"] < cert["issued_on"]:
        out.append(
            (
                "expired_certificate",
                f"expires {cert['expires_on']}, before it was issued ({cert['issued_on']})",
            )
        )
    elif cert["expires_on"] < checked_on:
        out.append(("expired_certificate", f"expired on {cert['expires_on']}, checked on {checked_on}"))
    if measured is not None:
        n_q = sum(m.get("n_quality") or 0 for m in measured)
        if n_q:
            industrial = sum(m.get("n_industrial") or 0 for m in measured) / n_q
            kind = HS_CODES[cert["hs_code"]]
            if kind == "gem" and industrial > tol["quality_share"]:
                out.append(
                    (
                        "hs_code_quality",
                        f"HS {cert['hs_code']} (gem) but {industrial:.0%} of the graded "
                        f"stones are industrial (tolerance {tol['quality_share']:.0%})",
                    )
                )
            if kind == "industrial" and 1 - industrial > tol["quality_share"]:
                out.append(
                    (
                        "hs_code_quality",
                        f"HS {cert['hs_code']} (industrial) but {1 - industrial:.0%} of "
                        f"the graded stones are gem or near-gem (tolerance "
                        f"{tol['quality_share']:.0%})",
                    )
                )
    if place.status != COMPLIANT:
        where = (
            f"{place.subprefecture} ({place.zone})" if place.subprefecture else "not on the compliance list"
        )
        word = "not compliant" if place.status == "not_compliant" else "unknown place"
        out.append(
            (
                "origin_not_compliant",
                f"declared origin {cert['declared_origin']}: {where}, {word} on "
                f"{cert['issued_on']}" + (f" [{place.decision_ref}]" if place.decision_ref else ""),
            )
        )
    return out
