"""Project-level promises: migrations match models, the compose file is valid, seed_demo is idempotent."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_makemigrations_check_is_clean():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_docker_compose_file_validates():
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    # The Python wrapper drops the exit code, so call the shipped binary itself.
    result = subprocess.run([str(binary), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    services = subprocess.run([str(binary), "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
                              capture_output=True, text=True, timeout=60, cwd=ROOT).stdout.split()
    assert set(services) == {"db", "redis", "web", "worker", "beat"}


def row_counts():
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()
            if not m._meta.label.startswith(("sessions.", "admin."))}


@pytest.mark.django_db
@pytest.mark.clock
@pytest.mark.usefixtures("frozen_clock")  # a second run in a new month opens that month's demo tranches
def test_seed_demo_twice_gives_the_same_row_counts():
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    counts = row_counts()
    second = io.StringIO()
    call_command("seed_demo", stdout=second)
    assert row_counts() == counts
    assert "바뀐 것 없음" in second.getvalue()
    assert "admin" in first.getvalue() or "계정" in first.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_staff_and_citizen_logins(client):
    from jinju_portal.seed import DEMO_PASSWORD

    call_command("seed_demo", stdout=io.StringIO())
    assert client.login(username="clerk", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200
    client.logout()
    assert client.login(username="citizen", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 302


def test_manage_py_runs_without_a_database_url():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings_and_documents_errors():
    import yaml

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = yaml.safe_load(out.getvalue())
    operations = [op for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)]
    assert len(operations) >= 15
    for op in operations:
        statuses = set(op["responses"])
        assert any(s.startswith("2") for s in statuses), op["operationId"]
        if op["operationId"].endswith(("_create", "_cancel_create", "_lookup_create")):
            assert {"400", "429"} & statuses, op["operationId"]


def test_no_float_touches_money_in_any_model():
    """Invariant 9: money is integer KRW, rates Decimal; no FloatField anywhere in the portal."""
    from django.db import models

    money_words = ("amount", "price", "face_value", "quota", "sold", "balance", "spent", "budget", "limit",
                   "purchased", "total", "commission")
    offenders = []
    for model in apps.get_models():
        if model._meta.app_label not in {"portal", "vouchers", "delivery", "industrial"}:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FloatField):
                offenders.append(f"{model._meta.label}.{field.name} is a FloatField")
            is_money = any(word in field.name for word in money_words) and not field.name.endswith(("_at", "_on"))
            if is_money and not isinstance(field, (models.IntegerField, models.DecimalField, models.ForeignKey,
                                                   models.CharField, models.BooleanField)):
                offenders.append(f"{model._meta.label}.{field.name} is {type(field).__name__}")
            if is_money and isinstance(field, models.IntegerField) and not isinstance(
                    field, (models.BigIntegerField, models.PositiveBigIntegerField, models.SmallIntegerField,
                            models.PositiveSmallIntegerField)):
                offenders.append(f"{model._meta.label}.{field.name} is a 32-bit {type(field).__name__}")
    assert offenders == []
