# The two commands a newcomer needs: `make run` and `make test` (README.md).
VENV     ?= .venv
PY       := $(VENV)/bin/python
PIP      := $(VENV)/bin/pip
PYTHON   ?= python3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/jinju
PYTEST_ARGS ?=
# An ISO instant (2027-01-31T23:59:59+09:00): the tests run with the clock travelled there (tests/conftest.py).
PORTAL_FROZEN_CLOCK ?=

.PHONY: run test venv install migrate seed serve check-deploy clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

venv install: $(VENV)/.installed

# Embedded SQLite database, tasks run in-process: nothing else to start. Set-up stays quiet unless
# something fails; once the server listens it prints the addresses, the demo logins and what runs
# in-process (serve_demo reads them from the settings).
RUN_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL
run: $(VENV)/.installed
	@echo "Preparing the database and the demo data (migrate, seed_demo) ..."
	@$(RUN_ENV) $(PY) manage.py migrate --noinput -v 0
	@$(RUN_ENV) $(PY) manage.py seed_demo -v 0
	@$(RUN_ENV) $(PY) manage.py serve_demo 127.0.0.1:8000

# The whole suite on PostgreSQL (DATABASE_URL, default $(TEST_DATABASE_URL)) with real Redis.
# `make test PYTEST_ARGS="-m clock" PORTAL_FROZEN_CLOCK=2027-01-31T23:59:59+09:00`: the date-sensitive
# tests with the clock at that instant.
test: $(VENV)/.installed
	./scripts/ensure-services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} PORTAL_FROZEN_CLOCK="$(PORTAL_FROZEN_CLOCK)" \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

check-deploy: $(VENV)/.installed
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64) IDENTITY_HASH_KEY=$$(head -c 48 /dev/urandom | base64) \
	ALLOWED_HOSTS=portal.jinju.go.kr $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
