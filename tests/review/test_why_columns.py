"""The register reads classify results with or without the "why" columns (issue 12)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd

from footprint.classify import WHY_RESULT_COLUMNS
from footprint.review import Register


def _rewrite(month: dict, tmp_path: Path, edit) -> dict:
    """A copy of a generated month whose results file is ``edit(frame)``, its audit's hash updated."""
    src = Path(month["folder"])
    dst = tmp_path / "month"
    shutil.copytree(src, dst)
    results = dst / "results.csv"
    frame = edit(pd.read_csv(results, dtype=str, keep_default_na=False))
    frame.to_csv(results, index=False, lineterminator="\n")
    audit_path = dst / "results.csv.audit.json"
    audit = json.loads(audit_path.read_text())
    sha = hashlib.sha256(results.read_bytes()).hexdigest()
    for record in audit["outputs"].values():
        if isinstance(record, dict) and "sha256" in record:
            record["sha256"] = sha  # only the results file's hash is checked against the file
    audit_path.write_text(json.dumps(audit))
    return {**month, "folder": str(dst)}


def test_classify_writes_the_why_columns(one_month):
    frame = pd.read_csv(Path(one_month["folder"]) / "results.csv")
    assert set(WHY_RESULT_COLUMNS) <= set(frame.columns)
    assert frame["mixed_p"].between(0, 1).all()
    assert frame["typical_sites"].str.contains("%").all()


def test_results_without_the_why_columns_still_read(register_url, one_month, add_month, tmp_path):
    old = _rewrite(one_month, tmp_path, lambda f: f.drop(columns=list(WHY_RESULT_COLUMNS)))
    with Register.open(register_url, create=True) as reg:
        out = add_month(reg, old)
        assert out["parcels"] == 4
        rows = reg.list(month=one_month["month"])
    assert len(rows) == 4 and all(r["verdict"] for r in rows)


def test_verdict_flag_detail_carries_the_why_when_present(register_url, one_month, add_month, tmp_path):
    def mixed(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, ["verdict", "flags", "mixed_p"]] = ["mixed", "mixed", "0.002"]
        return frame

    month = _rewrite(one_month, tmp_path, mixed)
    with Register.open(register_url, create=True) as reg:
        add_month(reg, month)
        rows = reg.list(month=one_month["month"])
    details = [f["detail"] for r in rows for f in r["flags"] if f["code"] == "verdict"]
    assert any("flags mixed" in d and "mixed p 0.002" in d and "typical of" in d for d in details), details
