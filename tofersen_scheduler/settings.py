"""Settings for the tofersen dose scheduler.

Everything that differs between a laptop and production comes from the environment, read by
the small typed helpers below. The defaults are safe for development: SQLite, DEBUG on, a
throwaway secret key. With DEBUG off the app refuses to start without a real SECRET_KEY.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The public base URL printed in calendar-feed links and on the schedule letter.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The admin site refuses a session without a verified second factor (tofersen_scheduler.admin).
    "tofersen_scheduler.apps.SecureAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "tofersen_scheduler.apps.SecurityConfig",
    "patients",
    "schedules",
    "schedules.quality",
    "schedules.fhir",
    "schedules.messaging",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tofersen_scheduler.security.NoStoreMiddleware",
    # The FHIR API never reads or writes a session (schedules/fhir/access.py).
    "schedules.fhir.access.IgnoreSessionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The live board's poll: 304 from one query, before the session is loaded.
    "schedules.middleware.BoardPollMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tofersen_scheduler.security.SessionLimitsMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tofersen_scheduler.security.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "schedules.middleware.UnitMissingMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tofersen_scheduler.urls"

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
                "tofersen_scheduler.security.session_settings",
                "schedules.context_processors.my_tasks",
                "schedules.messaging.context_processors.messaging_health",
            ],
        },
    },
]

WSGI_APPLICATION = "tofersen_scheduler.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions make concurrent writers queue for the lock (up to the timeout)
    # instead of failing with "database is locked" when a deferred read upgrades to a write.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not Django's shared in-memory database, so the concurrency tests' threads each
    # get a real connection that waits on the lock like production would. One per process, so
    # two test runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Caches hold nothing that is not in the database: each app server keeps its own, in memory.
# "feeds": rendered calendar feeds keyed by their ETag (schedules/feeds/views.py), at most a
# few kilobytes a patient.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "feeds": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "feeds",
        "OPTIONS": {"MAX_ENTRIES": env_int("FEED_CACHE_ENTRIES", 10000)},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username or address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
# Sign-in lands on the day board: what a nurse opens first (issue 20 walk).
LOGIN_REDIRECT_URL = "schedules:today"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Bootstrap comes from npm's official package (pinned in package-lock.json), installed by
# `make install` into node_modules; only its built files are exposed.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Sign-in (OWASP ASVS L2 V2). django-axes: 5 failures lock the username and, separately, the
# address for 15 minutes, on every page that calls authenticate() (ours and the admin's).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A sign-in forgets only that person's own failures (security.forget_own_failures): axes' own
# reset would clear the address's count too.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_CALLABLE = "tofersen_scheduler.security.axes_username"
AXES_LOCKOUT_CALLABLE = "tofersen_scheduler.two_factor.locked_out"
# Behind the trust's TLS proxy the client address is the last one the proxy appended; set the
# number of proxies in front of the app (0 when none).
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Second factor (TOTP via django-otp, recovery codes via its static device). Required for the
# groups below, and for every staff (admin-site) user, whenever DEBUG is off; TWO_FACTOR_NURSES
# extends it to nurses. TWO_FACTOR_REQUIRED forces it on or off regardless of DEBUG.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", not DEBUG)
TWO_FACTOR_GROUPS = ["Admin", "Clinician"] + (
    ["Nurse"] if env_bool("TWO_FACTOR_NURSES", False) else []
)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Day unit scheduler")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# Sessions and cookies (OWASP ASVS L2 V3): shared ward computers. The idle limit is the cookie
# age, renewed at most once a minute by tofersen_scheduler.security.SessionLimitsMiddleware,
# which also ends the session at the absolute limit counted from sign-in.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
# How often an open flow board asks whether anything changed (seconds; an unchanged board is a
# 304 from one query: schedules/visits/freshness.py).
BOARD_POLL_SECONDS = env_int("BOARD_POLL_SECONDS", 15)
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Headers (ASVS V14.4): a strict CSP, no inline script or style anywhere (django-csp), and no
# browser feature the app does not use.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
PERMISSIONS_POLICY = {
    feature: []
    for feature in [
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "interest-cohort",
    ]
}
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    # Joining the browsers' HSTS preload list binds the whole domain: the trust's IT decides.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Calendar-feed tokens are passwords: the redaction filter sits on the two loggers that log
# request paths (so every handler, pytest's caplog included, sees the redacted record) and on
# every handler (so a path logged anywhere else is redacted too). Replacing Django's own
# handlers for "django" and "django.server" keeps an unfiltered default handler from printing.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_feed_tokens": {"()": "schedules.log_filters.RedactFeedTokens"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_feed_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_feed_tokens"],
        },
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "redact_feed_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "propagate": True},
        "django.request": {"filters": ["redact_feed_tokens"]},
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["redact_feed_tokens"],
            "level": "INFO",
            "propagate": False,
        },
    },
}

# The FHIR R4 API (schedules/fhir/, issue 21): the identifier system of hospital numbers (the
# trust's own, e.g. https://fhir.example-trust.nhs.uk/Id/mrn; default: under SITE_URL) and
# how many requests a minute each API token may make.
FHIR_HOSPITAL_NUMBER_SYSTEM = env_str("FHIR_HOSPITAL_NUMBER_SYSTEM", "")
FHIR_RATE_LIMIT_PER_MINUTE = env_int("FHIR_RATE_LIMIT_PER_MINUTE", 120)

# Messages to patients (schedules/messaging/, issue 18). GOV.UK Notify through its official
# client when NOTIFY_API_KEY is set (one template per channel whose content is ((body)), with
# ((subject)) for email); without a key, Django's email backend (the console in development).
NOTIFY_API_KEY = env_str("NOTIFY_API_KEY")
NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
NOTIFY_CALLBACK_TOKEN = env_str("NOTIFY_CALLBACK_TOKEN")
NOTIFY_SMS_TEMPLATE_ID = env_str("NOTIFY_SMS_TEMPLATE_ID")
NOTIFY_EMAIL_TEMPLATE_ID = env_str("NOTIFY_EMAIL_TEMPLATE_ID")
NOTIFY_LETTER_TEMPLATE_ID = env_str("NOTIFY_LETTER_TEMPLATE_ID")
NOTIFY_TIMEOUT_SECONDS = env_int("NOTIFY_TIMEOUT_SECONDS", 10)
MESSAGE_MAX_ATTEMPTS = env_int("MESSAGE_MAX_ATTEMPTS", 6)
MESSAGE_RETRY_MAX_MINUTES = env_int("MESSAGE_RETRY_MAX_MINUTES", 60)

# Email: staff notices (`schedules/notices.py`) to the clinicians who decide, and patients'
# messages when there is no Notify key. Console in development; in production the trust's
# SMTP relay (EMAIL_HOST, EMAIL_PORT, ...).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A notice must never hold up the clinical action that caused it for long (it is sent after
# the commit, inside the request): a dead relay costs at most this many seconds, then is logged.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tofersen-unit@localhost")

# Background work on Django's task framework (the django-tasks backport): the database backend
# by default, so `make run` needs no other service; TASKS_BACKEND=rq puts it on Redis
# (REDIS_URL), run by `python manage.py rqworker default` (README "Workers").
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": REDIS_URL}}
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
}
if env_str("TASKS_BACKEND") == "rq":
    TASKS["default"] = TASKS["rq"]
