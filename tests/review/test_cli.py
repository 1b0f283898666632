"""``footprint review`` through typer's CliRunner: add, decide, list, history, report; exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from footprint.cli import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_review_commands_end_to_end(one_month, tmp_path):
    reg = tmp_path / "register.db"
    f = Path(one_month["folder"])
    res = _invoke(
        "review",
        "add",
        reg,
        "--certificates",
        f / "certificates.csv",
        "--results",
        f / "results.csv",
        "--parcels",
        f / "parcels.csv",
        "--stones",
        f / "stones.csv",
        "--by",
        "clerk",
        "--checked-on",
        one_month["checked_on"],
        "--json",
    )
    assert res.exit_code == 0, res.output
    added = json.loads(res.stdout)
    assert added["parcels"] == 4 and added["synthetic"] is True
    listed = json.loads(_invoke("review", "list", reg, "--json").stdout)
    pid = listed[0]["parcel_id"]
    reason = ["--reason", "checked"] if listed[0]["flags"] else []
    res = _invoke("review", "decide", reg, pid, "--decision", "approve", "--by", "Expert A", *reason)
    assert res.exit_code == 0 and "pending" in res.stdout, res.output
    res = _invoke("review", "decide", reg, pid, "--decision", "approve", "--by", "Expert A", *reason)
    assert res.exit_code == 3 and "two different experts" in res.output
    res = _invoke(
        "review", "decide", reg, pid, "--decision", "approve", "--by", "Expert B", *reason, "--json"
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "approved"
    res = _invoke("review", "decide", reg, listed[1]["parcel_id"], "--decision", "hold", "--by", "Expert A")
    assert res.exit_code == 3 and "reason" in res.output
    approved = json.loads(_invoke("review", "list", reg, "--status", "approved", "--json").stdout)
    assert [r["parcel_id"] for r in approved] == [pid]
    month = one_month["month"]
    for lang in ("en", "fr"):
        res = _invoke(
            "review",
            "report",
            reg,
            "--month",
            month,
            "--out",
            tmp_path / f"report_{lang}.html",
            "--lang",
            lang,
        )
        assert res.exit_code == 0, res.output
        res = _invoke("review", "history", reg, "--out", tmp_path / f"history_{lang}.html", "--lang", lang)
        assert res.exit_code == 0, res.output
    report = tmp_path / "report.json"
    assert _invoke("review", "report", reg, "--month", month, "--out", report).exit_code == 0
    data = json.loads(report.read_text())
    assert data["n_parcels"] == 4 and data["statuses"]["approved"] == 1 and len(data["open_items"]) == 3
    assert "SYNTHÉTIQUE" in (tmp_path / "report_fr.html").read_text(encoding="utf-8")
    history = tmp_path / "history.json"
    assert _invoke("review", "history", reg, "--zone", "CAR-West", "--out", history).exit_code == 0
    assert json.loads(history.read_text())["n_parcels"] == 4


def test_errors_become_exit_codes_without_tracebacks(one_month, tmp_path):
    f = Path(one_month["folder"])
    res = _invoke("review", "list", tmp_path / "missing.db")
    assert res.exit_code == 4 and "no review register" in res.output and "Traceback" not in res.output
    bad = tmp_path / "certs.csv"
    bad.write_text("kp_certificate,issued_on\nCF-1,2024-01-01\n", encoding="utf-8")
    res = _invoke("review", "add", tmp_path / "r.db", "--certificates", bad, "--results", f / "results.csv")
    assert res.exit_code == 3 and "required column missing" in res.output and "Traceback" not in res.output
    res = _invoke("review", "history", tmp_path / "r.db", "--out", tmp_path / "h.pdf")
    assert res.exit_code == 2
    reg = tmp_path / "register.json"  # a register file may have any name; --out must still not hit it
    assert (
        _invoke(
            "review",
            "add",
            reg,
            "--certificates",
            f / "certificates.csv",
            "--results",
            f / "results.csv",
            "--parcels",
            f / "parcels.csv",
        ).exit_code
        == 0
    )
    res = _invoke("review", "report", reg, "--month", one_month["month"], "--out", reg)
    assert res.exit_code == 2 and "same file as the input REGISTER" in res.output
    before = reg.read_bytes()
    res = _invoke("review", "add", f / "certificates.csv", "--certificates", f / "certificates.csv",
                  "--results", f / "results.csv")
    assert res.exit_code == 2 and "same file as the input --certificates" in res.output
    assert reg.read_bytes() == before
    res = _invoke("review", "history", reg, "--out", tmp_path / "missing" / "h.html")
    assert res.exit_code == 2 and "does not exist" in res.output
    res = _invoke("review", "report", reg, "--month", "2024-13", "--out", tmp_path / "x.html")
    assert res.exit_code == 3


def test_classify_adds_to_a_register(one_month, tmp_path):
    f = Path(one_month["folder"])
    model = Path(__file__).resolve().parents[2] / "models" / "demo-synthetic"
    reg = tmp_path / "register.db"
    res = _invoke("classify", model, f / "stones.csv", "--parcels", f / "parcels.csv", "--out",
                  tmp_path / "results.csv", "--register", reg, "--quiet")
    assert res.exit_code == 2 and "--certificates" in res.output
    res = _invoke("classify", model, f / "stones.csv", "--parcels", f / "parcels.csv", "--out",
                  tmp_path / "results.csv", "--register", reg, "--certificates", f / "certificates.csv")
    assert res.exit_code in (0, 6), res.output
    assert "register" in res.output
    listed = json.loads(_invoke("review", "list", reg, "--json").stdout)
    assert len(listed) == 4 and all(r["status"] == "pending" for r in listed)
