"""Settings for the shop example, read from the environment (slipway writes it to the app's .env).

DJANGO_SECRET_KEY  required unless DJANGO_DEBUG is on
DJANGO_DEBUG       1/true/yes/on to enable debug mode (default off)
ALLOWED_HOSTS      comma-separated host names (default localhost,127.0.0.1)
DATABASE_URL       postgresql://user:password@host:port/name (required unless DJANGO_DEBUG is on: then SQLite)
SERVE_STATIC       1 to let Django serve the collected static files itself (until nginx serves /static/)
"""
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """postgresql://user:password@host:port/name as Django's DATABASES entry (user and password may be %-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL: expected a postgresql:// URL, got scheme {parts.scheme!r}")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL: the database name is missing (postgresql://user:password@host:port/NAME)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # A health check must answer quickly when the database is unreachable, not hang on the TCP connect.
        # `?sslmode=require` (a database server reached over the network) is passed on to libpq.
        "OPTIONS": {"connect_timeout": 3, **{k: v for k, v in parse_qsl(parts.query) if k == "sslmode"}},
    }


DEBUG = env_flag("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it in the environment (slipway: env_vars DJANGO_SECRET_KEY: "
            "${DJANGO_SECRET_KEY}), or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

# No django.contrib.admin: Debian's python3-django links the admin's jQuery to the libjs-jquery package, which
# apt installs only as a recommendation; without it collectstatic fails on a dangling symlink. To add the admin,
# also add libjs-jquery to `dependencies.system` in deploy.yml. auth and contenttypes give `createsuperuser`.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "visits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
elif DEBUG:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
else:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set (postgresql://user:password@host:port/name). slipway writes it to the app's .env "
        "when deploy.yml has a `database:` section; or set DJANGO_DEBUG=1 to use SQLite locally."
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True

STATIC_URL = "/static/"
# collectstatic writes here, inside the release: each release carries its own assets, so a rollback serves the
# CSS that goes with its code.
STATIC_ROOT = BASE_DIR / "staticfiles"
SERVE_STATIC = env_flag("SERVE_STATIC")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{levelname} {name}: {message}", "style": "{"}},
    # stdout goes to the journal under systemd (journalctl -u shop-web).
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": "INFO"},
}
