"""What the web process, the worker and the migration share: connections and the queue's name.

DATABASE_URL  postgresql://user:password@host:port/name (slipway writes it to the app's .env)
REDIS_URL     redis://host:port/db (default redis://127.0.0.1:6379/0)
"""
import os
from pathlib import Path

import psycopg2
import redis

HERE = Path(__file__).resolve().parent
QUEUE = "items:queue"
# Unreachable dependencies must fail fast: a health check that hangs is a health check that times out.
TIMEOUT = 3


def release_version() -> str:
    try:
        return (HERE / "VERSION").read_text().strip()
    except FileNotFoundError:
        return "unknown"


def connect_db():
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set (postgresql://user:password@host:port/name)")
    # libpq understands the URL itself, %-encoded user and password included.
    return psycopg2.connect(url, connect_timeout=TIMEOUT)


def connect_redis(**options) -> redis.Redis:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    options.setdefault("socket_timeout", TIMEOUT)
    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, **options)
