"""Every command against a matrix of bad arguments (issue 11, "one CLI error boundary").

Missing folders, zero and negative numbers, outputs that are inputs, empty
ids, unreadable (folder-for-file) inputs: each must end with a one-line
``error:`` message naming the argument or the file, the documented exit code
(2 usage, 3 input, 4 store, 5 model), no traceback, and every input
unchanged (the store, the model directory, the stones and parcels files).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import tree_hashes

#: Keeps a synth command tiny should it ever get past its checks.
_SMALL = "--lots-per-site 1 --stones-per-lot 2 --parcels 0"

# (id, command template, expected exit code, fragment the message must hold)
# Placeholders: {store} a filled store, {model} a model directory, {stones} {parcels} parcel files,
# {tmp} an empty work folder, {missing} a path that does not exist, {dir} an existing folder.
MATRIX: list[tuple[str, str, int, str]] = [
    # db init
    ("init-missing-dir", "db init {missing}/new.h5", 4, "missing"),
    ("init-existing", "db init {store}", 4, "ref.h5"),
    # db add
    ("add-missing-store", "db add {missing}/x.h5 --stones {stones}", 4, "x.h5"),
    ("add-missing-stones", "db add {store} --stones {missing}/s.csv", 3, "s.csv"),
    ("add-folder-as-stones", "db add {store} --stones {dir}", 3, "dir"),
    ("add-store-as-stones", "db add {store} --stones {store}", 3, "ref.h5"),
    ("add-nothing", "db add {store}", 2, "--stones"),
    ("add-jobs-0", "db add {store} --stones {stones} --jobs 0", 2, "--jobs"),
    ("add-lock-timeout-negative", "db add {store} --stones {stones} --lock-timeout -1", 2, "--lock-timeout"),
    ("add-bad-kind", "db add {store} --spectra {stones} --kind nmr", 2, "nmr"),
    ("add-empty-by", "db add {store} --stones {stones} --by ' '", 2, "--by"),
    # db info / list / verify / fields on stores that are not there or not files
    ("info-missing", "db info {missing}/x.h5", 4, "x.h5"),
    ("info-folder", "db info {dir}", 4, "dir"),
    ("list-missing", "db list {missing}/x.h5", 4, "x.h5"),
    ("list-empty-zone", "db list {store} --zone ''", 2, "--zone"),
    ("verify-folder", "db verify {dir}", 4, "dir"),
    ("fields-empty-range", "db fields {store} --add ce_ppm --description x --min 5 --max 1", 3, "minimum"),
    ("fields-empty-name", "db fields {store} --add '' --description x", 3, "name"),
    # db show
    ("show-empty-id", "db show {store} ''", 2, "SAMPLE_ID"),
    ("show-unknown-id", "db show {store} NOPE", 3, "NOPE"),
    ("show-extract-onto-file", "db show {store} R1 --extract-images {stones}", 2, "--extract-images"),
    ("show-extract-missing-parent", "db show {store} R1 --extract-images {missing}/a/b", 2,
     "--extract-images"),
    # db export
    ("export-onto-store", "db export {store} {store}", 2, "same file as the input"),
    ("export-missing-dir", "db export {store} {missing}/x.csv", 2, "does not exist"),
    ("export-existing", "db export {store} {stones}", 2, "--force"),
    ("export-folder", "db export {store} {dir}", 2, "is a folder"),
    # ftir
    ("ftir-missing", "ftir {missing}/a.jdx", 2, "a.jdx"),
    ("ftir-jobs-0", "ftir {dir} --jobs 0", 2, "--jobs"),
    ("ftir-plot-missing-dir", "ftir {stones} --plot {missing}/p.png", 2, "--plot"),
    # synth
    ("synth-reference-onto-file", f"synth reference {{stones}} {_SMALL}", 2,
     "parcel_stones.csv"),
    ("synth-reference-missing-parent", f"synth reference {{missing}}/a/b {_SMALL}", 2, "does not exist"),
    ("synth-lots-0", "synth reference {tmp}/s --lots-per-site 0", 2, "--lots-per-site"),
    ("synth-photo-negative", f"synth reference {{tmp}}/s --photo-fraction -1 {_SMALL}", 2,
     "--photo-fraction"),
    ("synth-parcels-negative", "synth parcels {tmp}/p --parcels -1", 2, "--parcels"),
    ("synth-min-size-0", "synth parcels {tmp}/p --min-size 0", 2, "--min-size"),
    ("ceiling-sizes-0", "synth ceiling --sizes 0", 2, "--sizes"),
    ("ceiling-sizes-text", "synth ceiling --sizes a,b", 2, "--sizes"),
    ("ceiling-n-stones-small", "synth ceiling --n-stones 5", 2, "--n-stones"),
    # train / evaluate
    ("train-missing-store", "train {missing}/x.h5 --out {tmp}/m", 4, "x.h5"),
    ("train-out-is-store", "train {store} --out {store}", 2, "--out"),
    ("train-out-holds-store", "train {store} --out {storedir} --force", 2, "contains the input"),
    ("train-out-existing-model", "train {store} --out {model}", 2, "--force"),
    ("train-out-missing-dir", "train {store} --out {missing}/m", 2, "does not exist"),
    ("train-config-missing", "train {store} --out {tmp}/m --config {missing}/c.json", 3, "c.json"),
    ("train-thresholds-missing", "train {store} --out {tmp}/m --thresholds {missing}/t.json", 3, "t.json"),
    ("train-weights-missing", "train {store} --out {tmp}/m --site-weights {missing}/w.csv", 3, "w.csv"),
    ("evaluate-folds-0", "evaluate {store} --folds 0", 2, "--folds"),
    ("evaluate-folds-1", "evaluate {store} --folds 1", 2, "--folds"),
    ("evaluate-model-missing", "evaluate {store} --model {missing}/m", 5, "m"),
    # classify
    ("classify-jobs-0", "classify {model} {stones} --out {tmp}/r.csv --jobs 0", 2, "--jobs"),
    ("classify-jobs-negative", "classify {model} {stones} --out {tmp}/r.csv --jobs -3", 2, "--jobs"),
    ("classify-chunk-0", "classify {model} {stones} --out {tmp}/r.csv --chunk-size 0", 2, "--chunk-size"),
    ("classify-max-detail-negative", "classify {model} {stones} --out {tmp}/r.csv --max-detail -1", 2,
     "--max-detail"),
    ("classify-lang", "classify {model} {stones} --out {tmp}/r.csv --lang xx", 2, "--lang"),
    ("classify-out-is-stones", "classify {model} {stones} --out {stones}", 2, "same file as the input"),
    ("classify-out-is-parcels", "classify {model} {stones} --parcels {parcels} --out {parcels}", 2,
     "same file as the input"),
    ("classify-out-is-store", "classify {model} {stones} --db {store} --out {store}", 2, "same file"),
    ("classify-report-is-manifest",
     "classify {model} {stones} --out {tmp}/r.csv --report {model}/manifest.json", 2,
     "inside the input folder"),
    ("classify-stones-out-is-out", "classify {model} {stones} --out {tmp}/r.csv --stones-out {tmp}/r.csv", 2,
     "same file"),
    ("classify-out-missing-dir", "classify {model} {stones} --out {missing}/r.csv", 2, "does not exist"),
    ("classify-report-missing-dir",
     "classify {model} {stones} --out {tmp}/r.csv --report {missing}/r.html", 2, "does not exist"),
    ("classify-out-folder", "classify {model} {stones} --out {dir}", 2, "is a folder"),
    ("classify-stones-missing", "classify {model} {missing}/s.csv --out {tmp}/r.csv", 3, "s.csv"),
    ("classify-stones-folder", "classify {model} {dir} --out {tmp}/r.csv", 3, "dir"),
    ("classify-model-missing", "classify {missing}/m {stones} --out {tmp}/r.csv", 5, "m"),
    ("classify-parcels-missing", "classify {model} {stones} --parcels {missing}/p.csv --out {tmp}/r.csv", 3,
     "p.csv"),
    ("classify-db-missing", "classify {model} {stones} --db {missing}/x.h5 --out {tmp}/r.csv --report "
     "{tmp}/r.html", 4, "x.h5"),
    ("classify-scheduler-bad", "classify {model} {stones} --out {tmp}/r.csv --scheduler nonsense", 2,
     "--scheduler"),
    # profile
    ("profile-missing-store", "profile {missing}/x.h5 --out {tmp}/p.html", 4, "x.h5"),
    ("profile-out-is-store", "profile {store} --out {store}", 2, "same file"),
    ("profile-out-missing-dir", "profile {store} --out {missing}/p.html", 2, "does not exist"),
    ("profile-gallery-negative", "profile {store} --out {tmp}/p.html --gallery -1", 2, "--gallery"),
    ("profile-unknown-zone", "profile {store} --out {tmp}/p.html --zone Atlantis", 3, "Atlantis"),
    ("profile-bad-suffix", "profile {store} --out {tmp}/p.txt", 2, "--out"),
    ("profile-lang", "profile {store} --out {tmp}/p.html --lang xx", 2, "--lang"),
]


@pytest.fixture
def places(store: Path, demo_model: Path, parcel_files, tmp_path: Path) -> dict[str, Path]:
    work = tmp_path / "work"
    work.mkdir()
    folder = tmp_path / "dir"
    folder.mkdir()
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    stones, parcels = (tmp_path / p.name for p in parcel_files)
    for src, dst in zip(parcel_files, (stones, parcels), strict=True):
        shutil.copyfile(src, dst)
    return {"store": store, "storedir": store.parent, "model": model, "stones": stones, "parcels": parcels,
            "tmp": work, "missing": tmp_path / "missing", "dir": folder}


@pytest.mark.parametrize(("case", "template", "code", "fragment"), MATRIX, ids=[m[0] for m in MATRIX])
def test_bad_argument(case: str, template: str, code: int, fragment: str, places, run, corpus_record) -> None:
    import shlex

    args = [part.format(**{k: str(v) for k, v in places.items()}) for part in shlex.split(template)]
    watched = [places[k] for k in ("store", "model", "stones", "parcels")]
    before = [tree_hashes(p) for p in watched]
    work_before = sorted(p.name for p in places["tmp"].iterdir())
    result = run(*args)
    output = " ".join(result.output.replace("│", " ").split())  # typer's boxed usage errors, unwrapped
    assert result.exit_code == code, (case, result.exit_code, output)
    assert fragment in output, (case, output)
    assert "Traceback" not in output
    assert [tree_hashes(p) for p in watched] == before, f"{case}: an input changed"
    assert sorted(p.name for p in places["tmp"].iterdir()) == work_before, f"{case}: left an output behind"
    corpus_record(f"argument/{case}", code)
