# The README's two commands: `make demo` and `make test`. CI calls `make test` (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FP := $(VENV)/bin/footprint
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: install demo test bench lint clean ensure-chromium ensure-postgresql

# Creates .venv when missing and installs the package with its dev extras.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install ensure-chromium ensure-postgresql
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

# The report tests render HTML in Debian's headless chromium; install it when missing and we can.
ensure-chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report tests" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot be installed: report screenshot tests will not run" >&2; fi; }

# The review register tests start a throwaway PostgreSQL server (initdb + pg_ctl); install the server when missing.
ensure-postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's postgresql for the review register tests" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "postgresql not found and cannot be installed: PostgreSQL register tests will not run" >&2; fi; }

lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check footprint
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/run.py

# The main job on the bundled SYNTHETIC reference set: generate it (fixed seed), build the store
# through the real ingest path (CSV, JCAMP-DX, images), train, classify a month of export parcels,
# and write results and reports under $(OUT)/. classify exits 6 when parcels need expert review:
# that is a result, not a failure.
# Seed 0 is the seed models/demo-synthetic was built with, so the demo can check it is reproducible.
DEMO_SEED ?= 0
DB := $(OUT)/reference.h5
REG := $(OUT)/register.db
REF := $(OUT)/reference_set
demo: install
	rm -rf $(OUT) && mkdir -p $(OUT)
	$(FP) synth reference $(REF) --seed $(DEMO_SEED) --min-size 25 --max-size 1200
	$(FP) db init $(DB)
	$(FP) db add $(DB) --stones $(REF)/stones.csv --spectra $(REF)/spectra --kind ftir --images $(REF)/images --by demo
	$(FP) db verify $(DB)
	$(FP) db info $(DB)
	$(FP) train $(DB) --out $(OUT)/model --seed $(DEMO_SEED) --site-weights $(REF)/site_weights.csv
	@$(PY) -c 'import json,sys; f=lambda p: json.load(open(p))["fingerprint"]; \
	  same = f("$(OUT)/model/manifest.json") == f("models/demo-synthetic/manifest.json"); \
	  print("trained model " + ("matches" if same else "DIFFERS FROM") + " the committed models/demo-synthetic", file=sys.stderr)'
	$(FP) evaluate $(DB) --model $(OUT)/model --json > $(OUT)/evaluation.json
	$(FP) classify $(OUT)/model $(REF)/parcels_stones.csv --parcels $(REF)/parcels.csv \
	  --spectra $(REF)/parcels_spectra --db $(DB) --out $(OUT)/results.csv \
	  --price-book footprint/data/price_book_synthetic.csv \
	  --stones-out $(OUT)/stone_results.csv --report $(OUT)/report_en.html --lang en --images $(REF)/parcels_images; \
	  code=$$?; [ $$code -eq 0 ] || [ $$code -eq 6 ]
	$(FP) value $(REF)/parcels_stones.csv --price-book footprint/data/price_book_synthetic.csv \
	  --parcels $(REF)/parcels.csv --out $(OUT)/values.csv; code=$$?; [ $$code -eq 0 ] || [ $$code -eq 6 ]
	$(FP) classify $(OUT)/model $(REF)/parcels_stones.csv --parcels $(REF)/parcels.csv \
	  --spectra $(REF)/parcels_spectra --db $(DB) --out $(OUT)/resultats.csv \
	  --report $(OUT)/rapport_fr.html --lang fr >/dev/null; code=$$?; [ $$code -eq 0 ] || [ $$code -eq 6 ]
	$(FP) review synth-certificates $(REF) --out $(OUT)/certificates.csv
	$(FP) review add $(REG) --certificates $(OUT)/certificates.csv --results $(OUT)/results.csv \
	  --parcels $(REF)/parcels.csv --stones $(REF)/parcels_stones.csv --photos $(REF)/parcels_images \
	  --checked-on 2024-06-30 --by demo
	$(FP) review decide $(REG) $$(sed -n 3p $(REF)/parcels.csv | cut -d, -f1) --decision hold --by "Expert A" \
	  --reason "declared sub-prefecture not compliant on the issue date"
	$(FP) review decide $(REG) $$(sed -n 3p $(REF)/parcels.csv | cut -d, -f1) --decision refer --by "Expert B" \
	  --reason "refer to the KP monitoring team with the history page"
	$(FP) review history $(REG) --out $(OUT)/review_history.html
	$(FP) review report $(REG) --month 2024-06 --out $(OUT)/review_report_fr.html --lang fr
	$(FP) profile $(DB) --zone CAR-West --out $(OUT)/profile_CAR-West.html
	$(FP) profile $(DB) --zone CAR-East --out $(OUT)/profile_CAR-East.html
	$(FP) ftir $(REF)/spectra --plot $(OUT)/ftir_fit.png --json > $(OUT)/ftir_features.json
	# KP statistics screening (issue 16) on the SYNTHETIC statistics set with injected anomalies
	$(FP) synth kp-stats $(OUT)/kp_stats --seed $(DEMO_SEED)
	# stats check exits 6 when it finds anomalies to follow up: that is a result, not a failure
	$(FP) stats check --production $(OUT)/kp_stats/PROD.csv --trade $(OUT)/kp_stats/TRADE.csv \
	  --out $(OUT)/ANOMALIES.csv --report $(OUT)/stats_report_en.html --questionnaires $(OUT)/questionnaires \
	  --lang en --json > $(OUT)/stats_summary.json; code=$$?; [ $$code -eq 0 ] || [ $$code -eq 6 ]
	$(FP) stats check --production $(OUT)/kp_stats/PROD.csv --trade $(OUT)/kp_stats/TRADE.csv \
	  --out $(OUT)/ANOMALIES_fr.csv --report $(OUT)/stats_rapport_fr.html --lang fr >/dev/null; \
	  code=$$?; [ $$code -eq 0 ] || [ $$code -eq 6 ]
	@echo "demo outputs in $(OUT)/ (SYNTHETIC reference set): results.csv, stone_results.csv, report_en.html,"
	@echo "  rapport_fr.html, values.csv, evaluation.json, profile_*.html, ftir_features.json, ftir_fit.png,"
	@echo "  *.audit.json,"
	@echo "  register.db (review register: the demo month, two decisions), review_history.html, review_report_fr.html,"
	@echo "  KP statistics (SYNTHETIC): ANOMALIES.csv, stats_report_en.html, stats_rapport_fr.html, questionnaires/"

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info
