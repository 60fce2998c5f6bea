# Two entry points (README): `make run` sets up and runs the main job, `make test` sets up and runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/laborflow compare scenarios/status_quo.toml scenarios/gradual_return.toml scenarios/abrupt_return.toml --replicates 8 --out out/article

test: $(STAMP)
	$(VENV)/bin/ruff check model viz tests bench
	$(VENV)/bin/ruff format --check model viz tests bench
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(PY) bench/bench_model.py

clean:
	rm -rf $(VENV) out .pytest_cache
