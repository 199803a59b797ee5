# One entry point for the routine tasks. `make run` and `make test` are the README's two commands.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint format bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/esms params check
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/esms demo load
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/yamllint -s esms_numerique/rules/parameters tests/rules/scenarios

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]' gunicorn
	DATABASE_URL=$$(bash scripts/postgres.sh) $(PY) benchmarks/finess_import.py
	$(PY) benchmarks/indicators.py
	$(PY) benchmarks/selection.py
	DATABASE_URL=$$(bash scripts/postgres.sh) $(PY) benchmarks/national_scale.py
