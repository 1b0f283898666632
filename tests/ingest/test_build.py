"""build_batch: one validated batch, cross-checked, or one error listing everything."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from footprint._batch import Batch
from footprint.exceptions import InputError, SchemaError, SpectrumError
from footprint.ingest import build_batch

sys.path.insert(0, str(Path(__file__).parent))
from conftest import jcamp_text, sha256_tree  # noqa: E402

STONES = "sample_id,zone,mass_ct,colour\nS1,CAR-West,0.5,yellow\nS2,CAR-East,1.2,brown\n"


@pytest.fixture()
def lab(tmp_path, write_png):
    """A lab delivery: stones, two spectra, two photos; all files read-only."""
    root = tmp_path / "delivery"
    (root / "spectra").mkdir(parents=True)
    (root / "photos").mkdir()
    (root / "stones.csv").write_text(STONES)
    (root / "spectra" / "S1.jdx").write_text(jcamp_text([10, 20, 30, 40], title="S1 ftir"))
    (root / "spectra" / "S2_repeat.jdx").write_text(jcamp_text([11, 21, 31, 41], title="S2 ftir"))
    write_png(root / "photos" / "S1_top.png")
    write_png(root / "photos" / "S2.jpg", colour=(10, 20, 30))
    for p in root.rglob("*"):
        if p.is_file():
            p.chmod(0o444)
    return root


def test_complete_batch(lab):
    before = sha256_tree(lab)
    batch = build_batch(stones=lab / "stones.csv", spectra=lab / "spectra", images=lab / "photos",
                        by="A. Lab", n_jobs=1)
    assert isinstance(batch, Batch)
    assert batch.stones["sample_id"].tolist() == ["S1", "S2"]
    assert [(s.sample_id, s.kind) for s in batch.spectra] == [("S1", "ftir"), ("S2", "ftir")]
    assert [(im.sample_id, im.view) for im in batch.images] == [("S1", "top"), ("S2", "default")]
    assert batch.by == "A. Lab" and batch.synthetic is False
    r = batch.report
    assert (r.rows_read, r.spectra_read, r.images_read) == (2, 2, 2)
    assert r.steps["require_stone_for_spectrum"] == 2 and r.steps["require_stone_for_image"] == 2
    roles = {(Path(s.path).name, s.role) for s in batch.sources}
    assert roles == {("stones.csv", "stones"), ("S1.jdx", "spectrum"), ("S2_repeat.jdx", "spectrum"),
                     ("S1_top.png", "image"), ("S2.jpg", "image")}
    for src in batch.sources:
        data = Path(src.path).read_bytes()
        assert src.sha256 == hashlib.sha256(data).hexdigest() and src.size_bytes == len(data)
    assert sha256_tree(lab) == before  # read-only inputs unchanged


def test_spectra_and_images_need_a_stone(lab):
    (lab / "stones.csv").chmod(0o644)
    (lab / "stones.csv").write_text("sample_id,zone\nS1,CAR-West\n")
    with pytest.raises(InputError) as info:
        build_batch(stones=lab / "stones.csv", spectra=lab / "spectra", images=lab / "photos", by="x",
                    n_jobs=1)
    problems = info.value.problems
    assert {(Path(p.file).name, p.value) for p in problems} == {("S2_repeat.jdx", "S2"), ("S2.jpg", "S2")}
    assert all("no stone in this batch or in the store" in p.rule for p in problems)
    # ... unless the store already holds S2
    batch = build_batch(stones=lab / "stones.csv", spectra=lab / "spectra", images=lab / "photos", by="x",
                        known_sample_ids={"S2"}, n_jobs=1)
    assert len(batch.spectra) == 2 and len(batch.stones) == 1


def test_spectra_only_batch_for_known_stones(lab):
    batch = build_batch(spectra=lab / "spectra", by="x", known_sample_ids={"S1", "S2"}, n_jobs=1)
    assert len(batch.stones) == 0 and "mass_ct" in batch.stones.columns
    assert len(batch.spectra) == 2


def test_duplicate_spectrum_in_batch(tmp_path):
    (tmp_path / "stones.csv").write_text(STONES)
    (tmp_path / "a.jdx").write_text(jcamp_text([1, 2, 3]))
    (tmp_path / "b.jdx").write_text(jcamp_text([1, 2, 3]))  # same bytes under another name
    (tmp_path / "m.csv").write_text("sample_id,file\nS1,a.jdx\nS1,b.jdx\nS2,a.jdx\n")
    with pytest.raises(InputError) as info:
        build_batch(stones=tmp_path / "stones.csv", manifest=tmp_path / "m.csv", by="x", n_jobs=1)
    rules = [p.rule for p in info.value.problems]
    assert len(rules) == 2
    assert "twice for this sample" in rules[0]
    assert "cannot belong to two stones" in rules[1]
    assert [p.row for p in info.value.problems] == [2, 3]


def test_all_problems_of_a_batch_in_one_error(tmp_path, jcamp_dir):
    (tmp_path / "stones.csv").write_text("sample_id,zone,mass_ct\nS1,CAR-West,heavy\n")
    spectra = tmp_path / "spectra"
    spectra.mkdir()
    (spectra / "S1.jdx").write_bytes((jcamp_dir / "Robert_J_Lancashire_test_data" / "o01.jdx").read_bytes())
    (spectra / "S9.jdx").write_text(jcamp_text([1, 2, 3]))
    with pytest.raises(InputError) as info:
        build_batch(stones=tmp_path / "stones.csv", spectra=spectra, by="x", n_jobs=1)
    err = info.value
    assert type(err) is InputError  # problems from several sources
    kinds = sorted((Path(p.file).name, p.field) for p in err.problems)
    assert kinds == [("S1.jdx", None), ("S9.jdx", "sample_id"), ("stones.csv", "mass_ct")]
    assert "nothing was written" in str(err)


def test_error_class_is_specific_when_possible(tmp_path, jcamp_dir):
    (tmp_path / "stones.csv").write_text("sample_id,zone,mass_ct\nS1,CAR-West,heavy\n")
    with pytest.raises(SchemaError):
        build_batch(stones=tmp_path / "stones.csv", by="x")
    nmr = tmp_path / "S1.jdx"
    nmr.write_bytes((jcamp_dir / "Robert_J_Lancashire_test_data" / "o01.jdx").read_bytes())
    with pytest.raises(SpectrumError, match="NMR"):
        build_batch(spectra=nmr, by="x", known_sample_ids={"S1"})


def test_arguments_are_checked(tmp_path):
    with pytest.raises(InputError, match="who adds the batch"):
        build_batch(stones=tmp_path / "x.csv", by=" ")
    with pytest.raises(InputError, match="--replace needs --reason"):
        build_batch(stones=tmp_path / "x.csv", by="me", replace=True)
    with pytest.raises(InputError, match="nothing to add"):
        build_batch(by="me")


def test_synthetic_detection(tmp_path):
    (tmp_path / "stones.csv").write_text("# SYNTHETIC\n" + STONES)
    batch = build_batch(stones=tmp_path / "stones.csv", by="generator")
    assert batch.synthetic is True
    assert any("SYNTHETIC" in w for w in batch.report.warnings)
    with pytest.raises(InputError, match="synthetic data cannot be added as real data"):
        build_batch(stones=tmp_path / "stones.csv", by="generator", synthetic=False)
    (tmp_path / "real.csv").write_text(STONES)
    spectra = tmp_path / "sp"
    spectra.mkdir()
    (spectra / "S1.jdx").write_text(jcamp_text([1, 2, 3], extra="##$SYNTHETIC=TRUE"))
    both = build_batch(stones=tmp_path / "stones.csv", spectra=spectra, by="g", n_jobs=1)
    assert both.synthetic is True
    # real stones with synthetic spectra: one batch cannot carry both labels
    mixed = r"mixes SYNTHETIC files with 1 unmarked \(real\) file\(s\) \(.*real.csv"
    with pytest.raises(InputError, match=mixed):
        build_batch(stones=tmp_path / "real.csv", spectra=spectra, by="g", n_jobs=1)
    assert build_batch(stones=tmp_path / "real.csv", spectra=spectra, by="g", n_jobs=1,
                       synthetic=True).synthetic is True
    assert build_batch(stones=tmp_path / "real.csv", by="g").synthetic is False
    assert build_batch(stones=tmp_path / "real.csv", by="g", synthetic=True).synthetic is True


def test_replace_and_reason_are_carried(tmp_path):
    (tmp_path / "stones.csv").write_text(STONES)
    batch = build_batch(stones=tmp_path / "stones.csv", by="me", replace=True, reason="mass re-weighed")
    assert batch.replace is True and batch.reason == "mass re-weighed"
