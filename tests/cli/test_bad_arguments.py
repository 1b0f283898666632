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


# The newer command groups (value, stats check, review): same guarantees. Extra placeholders:
# {book} a price book, {assort} an assortment, {prod} {trade} KP statistics, {register} a review
# register (named .json so that a page --out can name it), {certs} {results} a review batch's files.
NEWER: list[tuple[str, str, int, str]] = [
    # value
    ("value-out-is-price-book", "value {stones} --price-book {book} --out {book}", 2,
     "same file as the input --price-book"),
    ("value-out-is-stones", "value {stones} --price-book {book} --out {stones}", 2,
     "same file as the input STONES"),
    ("value-out-is-assortment", "value --assortment {assort} --price-book {book} --out {assort}", 2,
     "same file as the input --assortment"),
    ("value-out-is-parcels", "value {stones} --price-book {book} --parcels {parcels} --out {parcels}", 2,
     "same file as the input --parcels"),
    ("value-out-missing-dir", "value {stones} --price-book {book} --out {missing}/v.csv", 2,
     "does not exist"),
    ("value-out-folder", "value {stones} --price-book {book} --out {dir}", 2, "is a folder"),
    ("value-book-missing", "value {stones} --price-book {missing}/b.csv --out {tmp}/v.csv", 3, "b.csv"),
    ("value-book-folder", "value {stones} --price-book {dir} --out {tmp}/v.csv", 3, "dir"),
    ("value-book-is-stones", "value {stones} --price-book {stones} --out {tmp}/v.csv", 3, "price book"),
    ("value-stones-missing", "value {missing}/s.csv --price-book {book} --out {tmp}/v.csv", 3, "s.csv"),
    ("value-assortment-folder", "value --assortment {dir} --price-book {book} --out {tmp}/v.csv", 3, "dir"),
    ("value-both-inputs", "value {stones} --assortment {assort} --price-book {book} --out {tmp}/v.csv", 3,
     "not both"),
    ("value-no-input", "value --price-book {book} --out {tmp}/v.csv", 3, "--assortment"),
    ("value-bad-date", "value {stones} --price-book {book} --out {tmp}/v.csv --valuation-date 2025-13-01",
     3, "2025-13-01"),
    ("value-empty-date", "value {stones} --price-book {book} --out {tmp}/v.csv --valuation-date ''", 3,
     "valuation_date"),
    # stats check
    ("stats-out-is-prod", "stats check --production {prod} --out {prod}", 2,
     "same file as the input --production"),
    ("stats-out-is-trade", "stats check --trade {trade} --out {trade}", 2, "same file as the input --trade"),
    ("stats-report-is-trade", "stats check --trade {trade} --out {tmp}/a.csv --report {trade}", 2,
     "same file as the input --trade"),
    ("stats-report-is-out", "stats check --trade {trade} --out {tmp}/a.csv --report {tmp}/a.csv", 2,
     "same file"),
    ("stats-out-missing-dir", "stats check --trade {trade} --out {missing}/a.csv", 2, "does not exist"),
    ("stats-report-missing-dir", "stats check --trade {trade} --out {tmp}/a.csv --report {missing}/r.html",
     2, "does not exist"),
    ("stats-out-folder", "stats check --trade {trade} --out {dir}", 2, "is a folder"),
    ("stats-questionnaires-is-file", "stats check --trade {trade} --out {tmp}/a.csv --questionnaires {prod}",
     2, "not a folder"),
    ("stats-questionnaires-missing-parent",
     "stats check --trade {trade} --out {tmp}/a.csv --questionnaires {missing}/a/q", 2, "does not exist"),
    ("stats-prod-missing", "stats check --production {missing}/p.csv --out {tmp}/a.csv", 3, "p.csv"),
    ("stats-prod-folder", "stats check --production {dir} --out {tmp}/a.csv", 3, "dir"),
    ("stats-trade-is-store", "stats check --trade {store} --out {tmp}/a.csv", 3, "ref.h5"),
    ("stats-no-input", "stats check --out {tmp}/a.csv", 2, "--production"),
    ("stats-lang", "stats check --trade {trade} --out {tmp}/a.csv --lang xx", 2, "--lang"),
    # review
    ("review-add-register-is-certificates",
     "review add {certs} --certificates {certs} --results {results}", 2,
     "same file as the input --certificates"),
    ("review-add-register-is-results", "review add {results} --certificates {certs} --results {results}", 2,
     "same file as the input --results"),
    ("review-add-register-missing-dir",
     "review add {missing}/r.db --certificates {certs} --results {results}", 2, "does not exist"),
    ("review-add-register-folder", "review add {dir} --certificates {certs} --results {results}", 2,
     "is a folder"),
    ("review-add-certs-missing", "review add {register} --certificates {missing}/c.csv --results {results}",
     3, "c.csv"),
    ("review-add-certs-folder", "review add {register} --certificates {dir} --results {results}", 3, "dir"),
    ("review-add-results-binary", "review add {register} --certificates {certs} --results {store}", 3,
     "ref.h5"),
    ("review-add-empty-by", "review add {register} --certificates {certs} --results {results} --by ' '", 2,
     "--by"),
    ("review-add-bad-date",
     "review add {register} --certificates {certs} --results {results} --checked-on 2024-02-30", 3,
     "2024-02-30"),
    ("review-decide-empty-parcel", "review decide {register} '' --decision approve --by x", 3, "parcel_id"),
    ("review-decide-unknown-parcel", "review decide {register} NOPE --decision approve --by x", 3, "NOPE"),
    ("review-decide-empty-by", "review decide {register} P1 --decision approve --by ' '", 3, "'by'"),
    ("review-decide-bad-decision", "review decide {register} P1 --decision maybe --by x", 3, "maybe"),
    ("review-list-missing", "review list {missing}/r.db", 4, "r.db"),
    ("review-list-folder", "review list {dir}", 4, "dir"),
    ("review-list-not-a-register", "review list {stones}", 4, "parcel_stones.csv"),
    ("review-list-bad-month", "review list {register} --month 2024-13", 3, "2024-13"),
    ("review-report-out-is-register", "review report {register} --month 2024-01 --out {register}", 2,
     "same file as the input REGISTER"),
    ("review-report-missing-dir", "review report {register} --month 2024-01 --out {missing}/r.html", 2,
     "does not exist"),
    ("review-report-bad-month", "review report {register} --month 2024-13 --out {tmp}/r.html", 3, "2024-13"),
    ("review-report-empty-month", "review report {register} --month '' --out {tmp}/r.html", 3, "month"),
    ("review-report-lang", "review report {register} --month 2024-01 --out {tmp}/r.html --lang xx", 3,
     "lang"),
    ("review-history-out-is-register", "review history {register} --out {register}", 2,
     "same file as the input REGISTER"),
    ("review-history-two-scopes", "review history {register} --out {tmp}/h.html --site a --zone b", 2,
     "at most one"),
    ("review-history-bad-suffix", "review history {register} --out {tmp}/h.pdf", 2, "--out"),
    ("review-synth-months-0", "review synth-months {tmp}/m --model {model} --months 0", 2, "--months"),
    ("review-synth-months-seed-negative", "review synth-months {tmp}/m --model {model} --seed -1", 2,
     "--seed"),
    ("review-synth-months-out-is-model", "review synth-months {model} --model {model}", 2, "--model"),
    ("review-synth-months-missing-parent", "review synth-months {missing}/a/m --model {model}", 2,
     "does not exist"),
    ("review-synth-months-model-missing", "review synth-months {tmp}/m --model {missing}/m", 5, "m"),
    ("review-synth-certs-into-input", "review synth-certificates {dir} --out {dir}/c.csv", 2,
     "inside the input folder"),
    ("review-synth-certs-missing-dir", "review synth-certificates {dir} --out {missing}/c.csv", 2,
     "does not exist"),
    ("review-synth-certs-seed-negative", "review synth-certificates {dir} --out {tmp}/c.csv --seed -1", 2,
     "--seed"),
    ("review-synth-certs-empty-folder", "review synth-certificates {dir} --out {tmp}/c.csv", 3, "parcels"),
]

_ASSORTMENT = ("parcel_id,size_class,quality,colour,n_stones,carats\n"
               "A,dtc:+11,gem,colourless,100,18\nB,gr:4,gem,colourless,10,10\n")
_TRADE = ("participant,period,flow,partner,carats,value_usd,certificates\n"
          "CAF,2020-Q1,export,ARE,100,20000,2\nARE,2020-Q1,import,CAF,100,20000,2\n")
_CERTS = ("kp_certificate,issued_on,expires_on,exporter,importer_country,hs_code,carats,n_stones,value_usd,"
          "declared_origin,parcel_id\nCF-1,2024-01-10,2024-03-10,X,BE,7102.10,10,20,2000,Berberati,P1\n")
_PROD = "participant,period,carats,value_usd\nCAF,2020-H1,100,20000\n"


@pytest.fixture(scope="session")
def empty_register(cli_dir: Path) -> Path:
    from footprint.review import Register

    path = cli_dir / "register.json"
    if not path.exists():
        with Register.open(path, create=True):
            pass
    return path


@pytest.fixture
def newer_places(places: dict[str, Path], empty_register: Path, tmp_path: Path) -> dict[str, Path]:
    from footprint.valuation import synthetic_price_book_path

    root = tmp_path / "newer"
    root.mkdir()
    book = root / "book.csv"
    shutil.copyfile(synthetic_price_book_path(), book)
    register = root / "register.json"
    shutil.copyfile(empty_register, register)
    files = {"assort": _ASSORTMENT, "trade": _TRADE, "prod": _PROD,
             "certs": _CERTS, "results": "parcel_id,verdict\nP1,consistent\n"}
    out = dict(places, book=book, register=register)
    for name, text in files.items():
        out[name] = root / f"{name}.csv"
        out[name].write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize(("case", "template", "code", "fragment"), NEWER, ids=[m[0] for m in NEWER])
def test_bad_argument_newer_commands(case: str, template: str, code: int, fragment: str, newer_places, run,
                                     corpus_record) -> None:
    import shlex

    places = newer_places
    args = [part.format(**{k: str(v) for k, v in places.items()}) for part in shlex.split(template)]
    watched = [places[k] for k in ("store", "model", "stones", "parcels", "book", "register", "assort",
                                   "trade", "prod", "certs", "results", "dir")]
    before = [tree_hashes(p) for p in watched]
    work_before = sorted(p.name for p in places["tmp"].iterdir())
    result = run(*args)
    output = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == code, (case, result.exit_code, output)
    assert fragment in output, (case, output)
    assert [tree_hashes(p) for p in watched] == before, f"{case}: an input changed"
    assert sorted(p.name for p in places["tmp"].iterdir()) == work_before, f"{case}: left an output behind"
    corpus_record(f"argument/{case}", code)
