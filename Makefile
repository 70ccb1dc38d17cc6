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

# Embedded SQLite database, tasks run in-process: nothing else to start.
RUN_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL
run: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo ""
	@echo "  진주시 경제지원 포털: http://127.0.0.1:8000/"
	@echo "  API docs:            http://127.0.0.1:8000/api/docs/"
	@echo "  Admin:               http://127.0.0.1:8000/admin/"
	@echo "  Demo logins (password jinju-demo-2021): admin (superuser), clerk (city staff), citizen"
	@echo ""
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:8000

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
