# Two entry points (README): `make run` sets up and runs the main job, `make test` sets up and runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test test-quick lint bench clean browser pdftools app docs

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/laborflow brief --out out/brief

# Chromium (apt) and Solara's front-end files (npm) for the app and its browser tests;
# quick when they are already there.
browser: $(STAMP)
	bash scripts/setup_browser.sh $(VENV)

# Poppler (apt): the brief's tests read the PDF back with pdftotext.
pdftools:
	bash scripts/setup_pdf_tools.sh

app: browser
	$(VENV)/bin/laborflow app

test: $(STAMP) browser pdftools
	$(VENV)/bin/ruff check model experiments viz cli tests bench scripts
	$(VENV)/bin/ruff format --check model experiments viz cli tests bench scripts
	$(VENV)/bin/python -m pytest

# While working: everything but the browser tests and the many full Dandong runs.
test-quick: $(STAMP)
	$(VENV)/bin/ruff check model experiments viz cli tests bench scripts
	$(VENV)/bin/python -m pytest -m "not slow and not browser"

# The API reference (pdoc) into docs/api/ (git-ignored): open docs/api/index.html. Fails,
# naming each, when a public function lacks a docstring or one that says what each argument is.
docs: $(STAMP)
	$(PY) scripts/api_docs.py --out docs/api

bench: $(STAMP)
	$(PY) bench/bench_model.py
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_robustness.py
	$(PY) bench/bench_cli_start.py

clean:
	rm -rf $(VENV) out .pytest_cache docs/api model/__pycache__  # (Numba caches its machine code there)
