"""The register on SQLite and PostgreSQL: add, checks, decisions, append-only, versions, concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from footprint.exceptions import (
    DecisionError,
    DuplicateRecordError,
    InputError,
    RegisterError,
    RegisterVersionError,
)
from footprint.review import Register


def _edit_certificates(month: dict, tmp_path: Path, **changes) -> Path:
    """A copy of the month's certificates with some cells changed: {column: {row index: value}}."""
    src = Path(month["folder"]) / "certificates.csv"
    frame = pd.read_csv(src, comment="#", dtype=str)
    for col, cells in changes.items():
        for i, v in cells.items():
            frame.loc[i, col] = v
    out = tmp_path / "certificates.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC test certificates\n")
        frame.to_csv(fh, index=False, lineterminator="\n")
    return out


def test_add_records_parcels_versions_and_who(register_url, one_month, add_month):
    with Register.open(register_url, create=True) as reg:
        out = add_month(reg, one_month)
        assert out["parcels"] == 4 and out["certificates"] == 4 and out["synthetic"] is True
        assert out["months"] == [one_month["month"]]
        rows = reg.list(month=one_month["month"])
    audit = json.loads((Path(one_month["folder"]) / "results.csv.audit.json").read_text())
    assert len(rows) == 4
    for r in rows:
        assert r["status"] == "pending" and r["decisions"] == []
        assert r["model_fingerprint"] == audit["model"]["fingerprint"]
        assert r["store_hash"] == audit["model"]["source"]["content_hash"]
        assert r["thresholds_version"] == audit["thresholds"]["version"]
        assert r["recorded_by"] == "clerk" and r["recorded_at"].endswith("+00:00")
        assert r["compliance"] == "compliant" and r["zone"] == "CAR-West"
        assert r["carats_measured"] is True and r["n_quality"] > 0 and sum(r["size_counts"]) == r["n_stones"]
        # no certificate check fails on the generator's honest certificates; only verdict flags may appear
        assert {f["code"] for f in r["flags"]} <= {"verdict"}


def test_certificate_checks_flag_what_is_wrong(register_url, one_month, add_month, tmp_path):
    certs = _edit_certificates(
        one_month,
        tmp_path,
        carats={0: "999.99"},
        n_stones={1: "3"},
        expires_on={2: "2000-01-01"},
        hs_code={3: "710231"},
        declared_origin={1: "Amada-Gaza"},
    )
    month = dict(one_month)
    with Register.open(register_url, create=True) as reg:
        f = Path(month["folder"])
        out = reg.add_batch(
            certs,
            f / "results.csv",
            parcels=f / "parcels.csv",
            stones=f / "stones.csv",
            by="clerk",
            checked_on=month["checked_on"],
        )
        rows = {r["kp_certificate"]: {x["code"] for x in r["flags"]} for r in reg.list()}
    numbers = pd.read_csv(certs, comment="#", dtype=str)["kp_certificate"].tolist()
    assert "carats_mismatch" in rows[numbers[0]]
    assert {"stones_mismatch", "origin_not_compliant"} <= rows[numbers[1]]
    assert "expired_certificate" in rows[numbers[2]]
    # 7102.31 (gem) with about a quarter of industrial stones
    assert "hs_code_quality" in rows[numbers[3]]
    assert out["flags"]["carats_mismatch"] == 1 and out["flags"]["origin_not_compliant"] == 1


def test_bad_certificates_name_file_row_and_field(register_url, one_month, tmp_path):
    certs = _edit_certificates(
        one_month, tmp_path, issued_on={1: "12/03/2024"}, hs_code={2: "7103.10"}, carats={3: "-1"}
    )
    f = Path(one_month["folder"])
    with Register.open(register_url, create=True) as reg:
        with pytest.raises(InputError) as info:
            reg.add_batch(certs, f / "results.csv", parcels=f / "parcels.csv", by="clerk")
        assert reg.list() == []  # nothing half-added
    problems = {(p.row, p.field) for p in info.value.problems}
    assert problems == {(2, "issued_on"), (3, "hs_code"), (4, "carats")}
    assert all(p.file == str(certs) for p in info.value.problems)


def test_duplicates_and_tampered_results_are_refused(register_url, one_month, add_month, tmp_path):
    f = Path(one_month["folder"])
    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        with pytest.raises(DuplicateRecordError):
            add_month(reg, one_month)
        assert len(reg.list()) == 4
    tampered = tmp_path / "results.csv"
    tampered.write_text(
        (f / "results.csv").read_text().replace("consistent", "consistent "), encoding="utf-8"
    )
    (tmp_path / "results.csv.audit.json").write_text((f / "results.csv.audit.json").read_text())
    with Register.open(register_url) as reg, pytest.raises(InputError, match="does not match its run audit"):
        reg.add_batch(f / "certificates.csv", tampered, parcels=f / "parcels.csv", by="clerk")


def test_duplicate_certificate_is_flagged(register_url, one_month, tmp_path):
    frame = pd.read_csv(Path(one_month["folder"]) / "certificates.csv", comment="#", dtype=str)
    frame["parcel_id"] = pd.read_csv(Path(one_month["folder"]) / "parcels.csv", comment="#", dtype=str)[
        "parcel_id"
    ]
    frame.loc[1, "kp_certificate"] = frame.loc[0, "kp_certificate"]  # one certificate number used twice
    certs = tmp_path / "c.csv"
    frame.to_csv(certs, index=False)
    f = Path(one_month["folder"])
    with Register.open(register_url, create=True) as reg:
        reg.add_batch(certs, f / "results.csv", by="clerk", checked_on=one_month["checked_on"])
        codes = {r["parcel_id"]: {x["code"] for x in r["flags"]} for r in reg.list()}
    assert sum("duplicate_certificate" in c for c in codes.values()) == 2


def test_decisions_rules_and_supersession(register_url, one_month, add_month):
    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        parcel = reg.list()[0]
        pid = parcel["parcel_id"]
        reason = "checked against the reference photos" if parcel["flags"] else None
        with pytest.raises(DecisionError, match="reason"):
            reg.decide(pid, "hold", by="Expert A")
        with pytest.raises(DecisionError):
            reg.decide(pid, "sell", by="Expert A", reason="x")
        first = reg.decide(pid, "approve", by="Expert A", reason=reason)
        assert first["status"] == "pending" and first["supersedes"] is None
        with pytest.raises(DecisionError, match="two different experts"):
            reg.decide(pid, "approve", by="Expert A", reason=reason)
        second = reg.decide(pid, "approve", by="Expert B", reason=reason)
        assert second["status"] == "approved" and second["supersedes"] == first["id"]
        third = reg.decide(
            pid, "hold", by="Expert C", reason="size distribution unlike the exporter's history"
        )
        assert third["status"] == "held" and third["supersedes"] == second["id"]
        with pytest.raises(InputError, match="no parcel"):
            reg.decide("NO-SUCH-PARCEL", "refer", by="Expert A", reason="x")
        row = [r for r in reg.list() if r["parcel_id"] == pid][0]
        assert row["status"] == "held" and [d["decision"] for d in row["decisions"]] == [
            "approve",
            "approve",
            "hold",
        ]
        assert all(d["model_fingerprint"] == row["model_fingerprint"] for d in row["decisions"])
        assert [r["parcel_id"] for r in reg.list(status="held")] == [pid]
        assert len(reg.list(status="pending")) == 3


def test_rows_cannot_be_edited_or_deleted(register_url, one_month, add_month):
    from sqlalchemy import text

    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        pid = reg.list()[0]["parcel_id"]
        reg.decide(pid, "refer", by="Expert A", reason="to the WGDE")
        for sql in (
            "UPDATE decisions SET decision = 'approve'",
            "DELETE FROM decisions",
            "UPDATE parcels SET verdict = 'consistent'",
            "DELETE FROM certificates",
        ):
            with pytest.raises(Exception, match="append-only"):
                with reg._engine.begin() as conn:
                    conn.execute(text(sql))
        assert reg.list(status="referred")[0]["decisions"][0]["decision"] == "refer"


def test_simultaneous_decisions_are_all_kept_in_order(register_url, one_month, add_month):
    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        pid = reg.list()[1]["parcel_id"]
    n_threads, per_thread = 6, 5
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            with Register.open(register_url) as mine:
                barrier.wait()
                for j in range(per_thread):
                    mine.decide(pid, "hold", by=f"Expert {k}", reason=f"hold {j} by expert {k}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Register.open(register_url) as reg:
        decisions = [r for r in reg.list() if r["parcel_id"] == pid][0]["decisions"]
    assert len(decisions) == n_threads * per_thread
    # one chain: every decision supersedes the one just before it, none lost, none twice
    assert decisions[0]["supersedes"] is None
    assert all(d["supersedes"] == prev["id"] for prev, d in zip(decisions, decisions[1:], strict=False))
    for k in range(n_threads):  # each expert's own decisions kept in the order made
        mine = [d["reason"] for d in decisions if d["decided_by"] == f"Expert {k}"]
        assert mine == [f"hold {j} by expert {k}" for j in range(per_thread)]


def test_two_experts_approving_at_the_same_moment(register_url, one_month, add_month):
    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        row = reg.list()[2]
    pid, reason = row["parcel_id"], "reviewed" if row["flags"] else None
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def approve(name: str) -> None:
        with Register.open(register_url) as mine:
            barrier.wait()
            results.append(mine.decide(pid, "approve", by=name, reason=reason))

    threads = [threading.Thread(target=approve, args=(n,)) for n in ("Expert A", "Expert B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    with Register.open(register_url) as reg:
        after = [r for r in reg.list() if r["parcel_id"] == pid][0]
    assert after["status"] == "approved"
    assert sorted(d["decided_by"] for d in after["decisions"]) == ["Expert A", "Expert B"]
    assert after["decisions"][1]["supersedes"] == after["decisions"][0]["id"]


def test_concurrent_processes_lose_nothing(register_url, one_month, add_month):
    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        pids = [r["parcel_id"] for r in reg.list()][:2]
    script = (
        "import sys\nfrom footprint.review import Register\n"
        "url, k = sys.argv[1], sys.argv[2]\n"
        "with Register.open(url) as reg:\n"
        "    for pid in sys.argv[3:]:\n"
        "        for j in range(3):\n"
        "            reg.decide(pid, 'refer', by='Expert ' + k, reason=f'refer {j}')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, register_url, str(k), *pids],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with Register.open(register_url) as reg:
        rows = reg.list()
    assert [len(r["decisions"]) for r in rows] == [3 * 3, 3 * 3, 0, 0]
    for r in rows[:2]:
        ids = [d["id"] for d in r["decisions"]]
        assert [d["supersedes"] for d in r["decisions"]] == [None, *ids[:-1]]


def test_open_refuses_missing_foreign_and_newer_registers(register_url, one_month, add_month, tmp_path):
    from sqlalchemy import create_engine, text

    with pytest.raises(RegisterError):
        Register.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    with Register.open(register_url, create=True) as reg:
        add_month(reg, one_month)
        url = reg.url
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(RegisterVersionError, match="9999"):
        Register.open(register_url)
    other = tmp_path / "other.db"
    engine = create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE samples (id INTEGER)"))
    engine.dispose()
    with pytest.raises(RegisterVersionError, match="not a footprint review register"):
        Register.open(other)
