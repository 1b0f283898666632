"""The output helpers: formula-safe cells, output guard, atomic publishing."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd
import pytest

from footprint._io import (
    OutputTransaction,
    atomic_write_bytes,
    guard_outputs,
    neutralise_cell,
    neutralise_frame,
    write_csv,
    write_xlsx,
)
from footprint.exceptions import OutputError

DANGEROUS = ["=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_dangerous_text_gets_a_quote(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["CAR-West", "Berbérati", "", "dtc:+11", -1.5, 3, None, np.nan])
def test_safe_values_unchanged(value: object) -> None:
    out = neutralise_cell(value)
    assert out is value or (out != out and value != value)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "sample_id": ["S1", "S2", "S3"],
        "notes": ["=HYPERLINK(\"http://evil\",\"x\")", "fine", None],
        "lab": ["@lab", "-lab", "+lab"],
        "mass_ct": [-1.5, 2.0, np.nan],
        "n": pd.array([-3, 4, None], dtype="Int64"),
    })


def test_write_csv_reads_back_neutralised_and_numbers_stay_numbers(tmp_path) -> None:
    path = tmp_path / "out.csv"
    write_csv(_frame(), path, comment="SYNTHETIC data")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# SYNTHETIC data"
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert rows[0]["notes"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert [r["lab"] for r in rows] == ["'@lab", "'-lab", "'+lab"]
    assert [r["mass_ct"] for r in rows] == ["-1.5", "2.0", ""]
    assert [r["n"] for r in rows] == ["-3", "4", ""]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) or value.lstrip("-").replace(
                ".", "").isdigit()


def test_neutralise_frame_leaves_safe_frame_alone() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": [-1.0, 2.0]})
    assert neutralise_frame(frame) is frame


def test_write_xlsx_reads_back_as_text(tmp_path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "out.xlsx"
    write_xlsx(_frame(), path)
    ws = load_workbook(path).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][:3] == ("sample_id", "notes", "lab")
    assert values[1][1] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert values[1][3] == -1.5
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"


def test_guard_refuses_an_input(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    with pytest.raises(OutputError, match="--out .* same file as the input stones"):
        guard_outputs({"--out": src}, {"stones": src})
    link = tmp_path / "link.csv"
    os.symlink(src, link)
    with pytest.raises(OutputError, match="same file"):
        guard_outputs({"--out": link}, {"stones": src})
    assert src.read_text() == "a\n1\n"


def test_guard_refuses_a_file_inside_an_input_folder(tmp_path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "manifest.json").write_text("{}")
    with pytest.raises(OutputError, match="inside the input folder model"):
        guard_outputs({"--report": model / "manifest.json"}, {"model": model})


def test_guard_missing_folder_existing_and_duplicate(tmp_path) -> None:
    with pytest.raises(OutputError, match="folder .*nodir does not exist"):
        guard_outputs({"--out": tmp_path / "nodir" / "x.csv"}, {})
    existing = tmp_path / "x.csv"
    existing.write_text("x")
    with pytest.raises(OutputError, match="already exists; pass --force"):
        guard_outputs({"OUT": existing}, {}, force=False)
    guard_outputs({"OUT": existing}, {}, force=True)
    with pytest.raises(OutputError, match="--out and --stones-out are the same file"):
        guard_outputs({"--out": tmp_path / "a.csv", "--stones-out": tmp_path / "a.csv"}, {})
    with pytest.raises(OutputError, match="is a folder"):
        guard_outputs({"--out": tmp_path}, {})


def test_guard_model_directory(tmp_path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    with pytest.raises(OutputError, match="already exists; pass --force"):
        guard_outputs({"--out": out}, {}, force=False, directories=["--out"])
    guard_outputs({"--out": out}, {}, force=True, directories=["--out"])
    store = out / "db.h5"
    store.write_text("x")
    with pytest.raises(OutputError, match="contains the input"):
        guard_outputs({"--out": out}, {"DB": store}, force=True, directories=["--out"])


def test_transaction_publishes_all_or_nothing(tmp_path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "a.csv.audit.json"
    a.write_text("old")
    with pytest.raises(RuntimeError), OutputTransaction() as tx:
        tx.path(a).write_text("new")
        tx.path(b).write_text("{}")
        raise RuntimeError("report failed")
    assert a.read_text() == "old" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    with OutputTransaction() as tx:
        tx.path(a).write_text("new")
        tx.path(b).write_text("{}")
        assert tx.publish() == [a, b]
    assert a.read_text() == "new" and b.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.csv.audit.json"]


def test_transaction_directory_replaces_whole_folder(tmp_path) -> None:
    final = tmp_path / "model"
    final.mkdir()
    (final / "stale.txt").write_text("old")
    with OutputTransaction() as tx:
        tmp = tx.directory(final)
        (tmp / "manifest.json").write_text("{}")
        tx.publish()
    assert sorted(p.name for p in final.iterdir()) == ["manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_atomic_write_bytes_missing_folder(tmp_path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_bytes(tmp_path / "nodir" / "x", b"1")
    atomic_write_bytes(tmp_path / "x", b"1")
    assert (tmp_path / "x").read_bytes() == b"1"
