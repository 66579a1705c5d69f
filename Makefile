# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DEBUG ?= 1

.PHONY: run test install lint typecheck demo worker beat clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## The whole system on the embedded default: SQLite, in-memory channel layer, worker + beat in process.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve --host 127.0.0.1 --port 8000

## The whole suite. With DATABASE_URL/REDIS_URL set, the PostgreSQL/Redis tests run too.
test: install
	FAST_PASSWORD_HASHER=1 $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

worker: install
	$(BIN)/celery -A alertguardian worker -l INFO

beat: install
	$(BIN)/celery -A alertguardian beat -l INFO

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* artifacts
