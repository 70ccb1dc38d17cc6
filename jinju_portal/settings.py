"""All settings, read from the environment (django-environ); defaults suit `make run` on a laptop."""
import datetime as dt
import logging
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
log = logging.getLogger("jinju_portal.settings")

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
_DEV_IDENTITY_KEY = "dev-only-identity-hash-key"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
# HMAC key for identity CIs (DESIGN.md "Identity"). Rotating it orphans every stored hash.
IDENTITY_HASH_KEY = env.str("IDENTITY_HASH_KEY", default=_DEV_IDENTITY_KEY if DEBUG else "")
if not DEBUG:
    from django.core.exceptions import ImproperlyConfigured

    for _name, _value, _dev in (("SECRET_KEY", SECRET_KEY, _DEV_SECRET),
                                ("IDENTITY_HASH_KEY", IDENTITY_HASH_KEY, _DEV_IDENTITY_KEY)):
        if not _value or _value == _dev:
            raise ImproperlyConfigured(f"{_name} must be set to a real secret when DEBUG=0")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "import_export",
    "jinju_portal",
    "vouchers",
    "delivery",
    "industrial",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jinju_portal.middleware.MessageMiddleware",  # Django's, skipped for the partner API
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "jinju_portal.urls"
WSGI_APPLICATION = "jinju_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["jinju_portal.templatetags.krw"],
        },
    },
]

# Unset DATABASE_URL: an embedded SQLite file, what `make run` uses. Tests and production: PostgreSQL.
# An empty DATABASE_URL counts as unset.
DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections: opening one per request cost 65 % of the purchase rate (bench/README.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `make run`'s SQLite cannot make the cash-out signals' UNIQUE NULLS NOT DISTINCT (one signal per rule,
# merchant, buyer and month); the scan that relies on it runs on PostgreSQL only (vouchers/db/fraud.py).
SILENCED_SYSTEM_CHECKS = ["models.W047"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Redis, cache and Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_TASK_ALWAYS_EAGER and not DEBUG:
    # In development that is the plan (`make run` says so once, when the server is up); a deployment
    # without a broker runs every task inside a request and no scheduled job at all.
    log.warning("CELERY_BROKER_URL/REDIS_URL not set: Celery tasks run eagerly in-process")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "jinju_portal.beat:PortalScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
# Periodic tasks can be switched off by name (Paperless-style), e.g. DISABLED_PERIODIC_TASKS=release-reservations
DISABLED_PERIODIC_TASKS = env.list("DISABLED_PERIODIC_TASKS", default=[])

# --- E-mail ----------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
# Absolute links in e-mails (cancel a registration, look up a request) and the QR on merchant posters point here.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="진주시 경제지원 포털 <noreply@jinju.go.kr>")

# --- API ------------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# Seconds an API client stays cached in-process after its key was checked: a revoked key stops
# working within this time on every worker (at once on the worker that revoked it).
API_CLIENT_CACHE_SECONDS = env.int("API_CLIENT_CACHE_SECONDS", default=10)
IDEMPOTENCY_KEEP_HOURS = env.int("IDEMPOTENCY_KEEP_HOURS", default=48)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jinju_portal.api.authentication.ApiClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["jinju_portal.api.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "jinju_portal.api.negotiation.PortalContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "jinju_portal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "jinju_portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "jinju_portal.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "jinju_portal.api.throttling.AnonThrottle",
        "jinju_portal.api.throttling.CitizenThrottle",
        "jinju_portal.api.throttling.ApiClientThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "citizen": env.str("THROTTLE_CITIZEN", default="240/min"),
        "api_client": env.str("THROTTLE_API_CLIENT", default="1200/min"),
        "public_form": env.str("THROTTLE_PUBLIC_FORM", default="20/hour"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "진주시 경제지원 포털 파트너 API (Jinju economic-support portal)",
    "DESCRIPTION": (
        "Partner REST API v1: vouchers (진주사랑상품권), the public delivery app, and the Sangpyeong "
        "centre. Authenticate with `Authorization: Token <key>`. Errors are "
        '`{"code", "detail", "fields"?}`. Money is integer KRW; rates are decimal strings.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {"TokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                                          "description": "`Token <key>` from `manage.py issue_api_key`"}}
    },
    "SECURITY": [{"TokenAuth": []}],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security: HTTPS on by default when DEBUG=0 ---------------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    if env.bool("USE_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by load balancers and compose healthchecks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own DEBUG console handler printed every django.* line a second time, unformatted
        # ("Watching for file changes" twice at each start): no handler of its own, the root's prints it.
        # (Its other handler, mail_admins, had nothing to do: there are no ADMINS.)
        "django": {"handlers": [], "level": "INFO"},
    },
}
if CELERY_TASK_ALWAYS_EAGER:
    # a task run inside the request that asked for it: its "succeeded in 0.001s" line is noise
    # (failures still raise, CELERY_TASK_EAGER_PROPAGATES)
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}

# Pluggable identity verification (DESIGN.md): the development verifier accepts any CI and says so
# on screen; it is enabled only in DEBUG or by explicit setting.
DEV_IDENTITY_VERIFIER = env.bool("DEV_IDENTITY_VERIFIER", default=DEBUG)

# --- Delivery (issue 10, statements) ------------------------------------------------------------------
# The set-based statement build (delivery/db/statements.py) on PostgreSQL; False takes the ORM twin.
DELIVERY_FAST_SQL = env.bool("DELIVERY_FAST_SQL", default=True)

# --- Vouchers: every VOUCHERS_* setting, declared once with its default (code reads settings.X) -----
# The one-statement sale (vouchers/db/) on PostgreSQL; False takes the ORM twin (tests, pgbouncer).
VOUCHERS_FAST_SQL = env.bool("VOUCHERS_FAST_SQL", default=True)
# A till's ordinary payment answered before Django's middleware and DRF (vouchers/api/pos.py);
# everything else on that path, and every other path, goes through Django as before.
VOUCHERS_LEAN_POS = env.bool("VOUCHERS_LEAN_POS", default=True)
# Per-connection PREPARE of the sale; switch off behind a transaction-pooling proxy.
VOUCHERS_PREPARED_STATEMENTS = env.bool("VOUCHERS_PREPARED_STATEMENTS", default=True)
# The most one sale may be for; larger amounts are refused before the write path.
VOUCHERS_MAX_FACE_VALUE = env.int("VOUCHERS_MAX_FACE_VALUE", default=100_000_000)
# How long a web reservation holds quota and usage while the citizen pays.
VOUCHERS_RESERVATION_HOLD = dt.timedelta(seconds=env.int("VOUCHERS_RESERVATION_HOLD_SECONDS", default=600))
# Paper denominations issued (FACTS.md: 10,000 and 5,000).
VOUCHERS_PAPER_DENOMINATIONS = tuple(env.list("VOUCHERS_PAPER_DENOMINATIONS", cast=int, default=[10_000, 5_000]))
# Identity verifier class (dotted path); the development one is allowed only with DEV_IDENTITY_VERIFIER.
VOUCHERS_IDENTITY_VERIFIER = env.str("VOUCHERS_IDENTITY_VERIFIER",
                                     default="vouchers.identity_verification.DevelopmentIdentityVerifier")
# Online payment: the sandbox gateway or a real gateway class (dotted path). Unset (None): the
# sandbox follows settings.DEBUG at run time.
VOUCHERS_SANDBOX_PAYMENTS = env.bool("VOUCHERS_SANDBOX_PAYMENTS") if env.str("VOUCHERS_SANDBOX_PAYMENTS", default="") else None
VOUCHERS_PAYMENT_GATEWAY = env.str("VOUCHERS_PAYMENT_GATEWAY", default="")
# Key of the sandbox's signed server notifications; empty: derived from SECRET_KEY.
VOUCHERS_SANDBOX_NOTIFY_KEY = env.str("VOUCHERS_SANDBOX_NOTIFY_KEY", default="")

# Cash-out (상품권 깡) scan: vouchers.services.scan_cash_out, nightly at 02:30 (jinju_portal/celery.py).
# Every threshold is read once here; vouchers.rules.FraudThresholds has the same defaults and says
# what each means. A month is a Seoul calendar month.
# The three amount rules skip a merchant whose month of exchanges is below this (KRW).
VOUCHERS_FRAUD_MIN_AMOUNT = env.int("VOUCHERS_FRAUD_MIN_AMOUNT", default=1_000_000)
# A month's exchanges at least this many times the merchant's own trailing 3-month average.
VOUCHERS_FRAUD_SPIKE_RATIO = env.float("VOUCHERS_FRAUD_SPIKE_RATIO", default=3.0)
# … or this many times the median month of its category's merchants (with at least the minimum of them).
VOUCHERS_FRAUD_CATEGORY_RATIO = env.float("VOUCHERS_FRAUD_CATEGORY_RATIO", default=5.0)
VOUCHERS_FRAUD_CATEGORY_MIN_MERCHANTS = env.int("VOUCHERS_FRAUD_CATEGORY_MIN_MERCHANTS", default=5)
# … or exchanged plus refused over the cap at least this share of rules.monthly_exchange_cap.
VOUCHERS_FRAUD_REVENUE_SHARE = env.float("VOUCHERS_FRAUD_REVENUE_SHARE", default=1.0)
# Notes exchanged within this many hours of their sale are "quick".
VOUCHERS_FRAUD_QUICK_HOURS = env.int("VOUCHERS_FRAUD_QUICK_HOURS", default=24)
# Quick notes worth at least this, exchanged by a merchant whose representative has the buyer's name.
VOUCHERS_FRAUD_SELF_MIN_AMOUNT = env.int("VOUCHERS_FRAUD_SELF_MIN_AMOUNT", default=50_000)
# A merchant taking at least this share of one buyer's notes exchanged in the month, with quick
# notes of that buyer worth at least the amount.
VOUCHERS_FRAUD_CONCENTRATED_SHARE = env.float("VOUCHERS_FRAUD_CONCENTRATED_SHARE", default=0.8)
VOUCHERS_FRAUD_CONCENTRATED_MIN_AMOUNT = env.int("VOUCHERS_FRAUD_CONCENTRATED_MIN_AMOUNT", default=200_000)
# A ring: at least MIN_BUYERS buyers (each with at least MIN_NOTES notes exchanged in the month) all
# of whose notes came back through one merchant within DAYS of their sale.
VOUCHERS_FRAUD_RING_DAYS = env.int("VOUCHERS_FRAUD_RING_DAYS", default=3)
VOUCHERS_FRAUD_RING_MIN_BUYERS = env.int("VOUCHERS_FRAUD_RING_MIN_BUYERS", default=10)
VOUCHERS_FRAUD_RING_MIN_NOTES = env.int("VOUCHERS_FRAUD_RING_MIN_NOTES", default=5)
# A buyer at the monthly limit in this many months running (the scanned one included), at least
# LIMIT_SHARE of the paper they bought in the scanned month came back through one merchant.
VOUCHERS_FRAUD_LIMIT_MONTHS = env.int("VOUCHERS_FRAUD_LIMIT_MONTHS", default=3)
VOUCHERS_FRAUD_LIMIT_SHARE = env.float("VOUCHERS_FRAUD_LIMIT_SHARE", default=0.8)
# Refused serials (already redeemed or unknown) in a month at one merchant that raise a signal.
VOUCHERS_FRAUD_REFUSAL_MIN = env.int("VOUCHERS_FRAUD_REFUSAL_MIN", default=1)
# Ids kept on a signal per list (purchases, notes, exchanges, refusals); the counts are always whole.
VOUCHERS_FRAUD_EVIDENCE_IDS = env.int("VOUCHERS_FRAUD_EVIDENCE_IDS", default=1_000)

# --- Delivery: every DELIVERY_* setting, declared once with its default (code reads settings.X) ----
# Orders (delivery/inputs.py, delivery/services/orders.py):
# an order reported with an ordered_at older than this many days is refused (400 invalid_ordered_at).
DELIVERY_MAX_ORDER_AGE_DAYS = env.int("DELIVERY_MAX_ORDER_AGE_DAYS", default=90)
# how far ahead of the city's clock an operator's ordered_at may be (its server's clock drifts).
DELIVERY_ORDER_CLOCK_SKEW_SECONDS = env.int("DELIVERY_ORDER_CLOCK_SKEW_SECONDS", default=300)
# the largest food amount or delivery fee one order may carry (KRW); larger is 400 invalid_amount.
DELIVERY_MAX_ORDER_AMOUNT = env.int("DELIVERY_MAX_ORDER_AMOUNT", default=100_000_000)
# how long a process remembers an operator, a store's listing and a day's contract on the order path
# (delivery/selectors.py); a write in this process forgets them at once, other processes within this.
DELIVERY_LOOKUP_CACHE_SECONDS = env.int("DELIVERY_LOOKUP_CACHE_SECONDS", default=10)
