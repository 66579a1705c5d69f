"""Settings for Alert Guardian, read from the environment (12-factor).

Two ways to run:
- embedded (``REDIS_URL`` unset): SQLite file, in-memory channel layer, Celery worker
  and beat inside the server process on an in-memory broker;
- production (``REDIS_URL`` set): channels-redis and a Redis broker, PostgreSQL via
  ``DATABASE_URL``, separate worker and beat processes.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_bool("ALLOW_DEV_SECRET", default=False):
        raise ImproperlyConfigured("SECRET_KEY must be set unless DEBUG=1 (a dev default exists only then)")
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "alertguardian",
    "audit",
    "accounts",
    "alerts",
    "escalation",
    "fallbacks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "alertguardian.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "alertguardian.urls"
ASGI_APPLICATION = "alertguardian.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded mode runs the worker and beat as threads of the server: WAL lets readers
    # proceed during a write, IMMEDIATE takes the write lock up front (no upgrade deadlock).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif int(os.environ.get("DB_POOL_MAX_SIZE", "0")) > 0:
    # Optional: a psycopg pool per process instead of one persistent connection per thread
    # (HTTP_THREADS per server process; see alertguardian.asgi_http), e.g. to cap
    # connections below the thread count.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ["DB_POOL_MAX_SIZE"]),
        "timeout": int(os.environ.get("DB_POOL_TIMEOUT", "10")),
    }
else:
    # Connections are reused across requests and tasks: check one is alive before reusing it
    # (a PostgreSQL restart would otherwise fail the first query of every thread).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("FAST_PASSWORD_HASHER"):
    # Tests only: the default PBKDF2 cost dominates a suite that logs in hundreds of times.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files from the ASGI server itself; finders avoid a collectstatic step.
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "/board/login/"
LOGIN_REDIRECT_URL = "/board/"
LOGOUT_REDIRECT_URL = "/board/login/"

# --- Redis: broker, channel layer, cache ------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not REDIS_URL

if REDIS_URL:
    # Live events use Redis pub/sub (channels_redis.pubsub): one message per group_send and
    # server process, delivered locally to every socket of the group; the list-based
    # channels_redis.core layer pops one Redis message per socket (~5x slower fan-out at
    # 500 sockets, docs/benchmarks.md) and keeps group members of killed processes for a
    # day. Events are best-effort either way (the database holds the truth).
    # CHANNEL_LAYER_BACKEND=channels_redis.core.RedisChannelLayer switches back.
    # redis-py 8 defaults to a 5 s socket timeout and 100 pooled connections; the core
    # layer blocks 5 s in BZPOPMIN and both open a connection per concurrent group
    # operation (hundreds when many sockets come or go at once): raise both.
    CHANNEL_LAYER_BACKEND = os.environ.get("CHANNEL_LAYER_BACKEND", "channels_redis.pubsub.RedisPubSubChannelLayer")
    _redis_host = {
        "address": REDIS_URL,
        "socket_timeout": float(os.environ.get("CHANNELS_REDIS_SOCKET_TIMEOUT", "30")),
        "max_connections": int(os.environ.get("CHANNELS_REDIS_MAX_CONNECTIONS", "4000")),
    }
    _layer_config: dict[str, object] = {"hosts": [_redis_host]}
    if CHANNEL_LAYER_BACKEND == "channels_redis.core.RedisChannelLayer":
        _layer_config.update(capacity=1500, expiry=30)
    CHANNEL_LAYERS = {"default": {"BACKEND": CHANNEL_LAYER_BACKEND, "CONFIG": _layer_config}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without this Celery closes every database connection around every task (a new PostgreSQL
# connection per task); with it, connections are recycled every twice this many tasks of a
# thread, and alertguardian.celery drops broken or expired ones (CONN_MAX_AGE) per task.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "500"))
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Durable state lives in the database; a message is only a wake-up call. Redeliveries
# after the visibility timeout are harmless because step tasks check their token.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
if EMBEDDED:
    # The in-memory transport polls; the default 1 s would add up to a second to every task.
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = 0.05

# --- REST framework --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "alertguardian.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "alertguardian.api.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Alert Guardian API",
    "DESCRIPTION": "Travel-disruption alerting and escalation. Every error body is "
    '`{"code": ..., "message": ..., "details": ...}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets served by us (drf-spectacular-sidecar), not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets shared by several fields named alike get one stable component name each.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.UserRole",
        "TeamRoleEnum": "accounts.models.TeamRole",
    },
}

# Threads per server process that run requests (middleware + view), each with its own
# persistent database connection (see alertguardian.asgi_http).
HTTP_THREADS = int(os.environ.get("HTTP_THREADS", "8"))
# Flight-event requests that arrive while one is being written join the next transaction,
# up to this many events; bigger requests run alone (alerts.services.flight_grouping).
# Off: one transaction per request.
FLIGHT_EVENTS_GROUP_COMMIT = env_bool("FLIGHT_EVENTS_GROUP_COMMIT", True)
FLIGHT_EVENTS_GROUP_MAX_EVENTS = int(os.environ.get("FLIGHT_EVENTS_GROUP_MAX_EVENTS", "100"))
# What every ingest reads (integration tokens, detection rules, event rules) is memoized
# per process for this many seconds: an edit (a revoked token too) takes effect at once in
# the process that made it and within this time in the others (alertguardian.memo).
# 0: read them from the database every time.
CONFIG_CACHE_SECONDS = float(os.environ.get("CONFIG_CACHE_SECONDS", "1"))

# Bodies above this are refused with 413 before parsing (see alertguardian.middleware).
MAX_REQUEST_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# Failed logins: after this many failures within the window, 429 per account and per IP.
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", "5"))
LOGIN_FAILURE_LIMIT_PER_IP = int(os.environ.get("LOGIN_FAILURE_LIMIT_PER_IP", "20"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
INVITATION_TTL_DAYS = int(os.environ.get("INVITATION_TTL_DAYS", "7"))

# --- Email -----------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
# An unreachable SMTP server must fail a delivery attempt (and retry later), not hang a worker.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Alert Guardian <alerts@localhost>")
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# --- Escalation ------------------------------------------------------------------------
# How often the sweeper looks for overdue runs (the beat job's interval; editable in the admin).
ESCALATION_SWEEP_INTERVAL_SECONDS = int(os.environ.get("ESCALATION_SWEEP_INTERVAL_SECONDS", "5"))
# Extra workers a sweep enlists when more runs are overdue than one batch (a lost broker).
ESCALATION_SWEEP_FANOUT = int(os.environ.get("ESCALATION_SWEEP_FANOUT", "3"))
# Channels for a user without a matching subscription (in_app is always added).
ESCALATION_DEFAULT_CHANNELS = os.environ.get("ESCALATION_DEFAULT_CHANNELS", "in_app,email").split(",")
# Read in-app notifications are removed by the daily retention job after this many days.
NOTIFICATION_RETENTION_DAYS = int(os.environ.get("NOTIFICATION_RETENTION_DAYS", "30"))
# Dotted path of the SMS backend class; the default writes each message to the log.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "escalation.delivery.sms.LogSMSBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}
