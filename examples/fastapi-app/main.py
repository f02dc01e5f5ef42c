"""The items API: `python -m uvicorn main:app`.

POST /items       {"name": ...}: stores the item in PostgreSQL and queues its id on the Redis list items:queue
GET  /items/{id}  the item, with `processed` set once the worker (worker.py) has handled it
GET  /health      200 when PostgreSQL answers SELECT 1 and Redis answers PING, else 503 with what failed;
                  also 503 while a file named BROKEN is in the release (to try a failed deploy)
GET  /            this release's version and the server's hostname;  GET /version: the version alone
"""
import logging
import socket

import psycopg2
import redis
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, constr

from store import HERE, QUEUE, connect_db, connect_redis, release_version

log = logging.getLogger("uvicorn.error")  # uvicorn configures this logger: our lines share its format
app = FastAPI(title="items")
queue = connect_redis()  # connects lazily and keeps a pool; commands reconnect after a Redis restart


@app.exception_handler(psycopg2.OperationalError)
@app.exception_handler(redis.ConnectionError)
async def dependency_down(request: Request, error: Exception) -> JSONResponse:
    """An unreachable database or Redis is a 503 (try again later), not a 500 with a traceback."""
    message = " ".join(str(error).split())
    log.warning("%s %s: %s", request.method, request.url.path, message)
    return JSONResponse({"detail": f"service unavailable: {message}"}, status_code=503)


class NewItem(BaseModel):
    name: constr(min_length=1, max_length=200)


def item_json(row) -> dict:
    id_, name, created_at, processed = row
    return {"id": id_, "name": name, "created_at": created_at.isoformat(), "processed": processed}


# Plain `def` endpoints: FastAPI runs them in its thread pool, so the blocking drivers don't stall the event loop.
@app.post("/items", status_code=201)
def create_item(item: NewItem) -> dict:
    conn = connect_db()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO items (name) VALUES (%s) RETURNING id, name, created_at, processed", (item.name,)
            )
            row = cur.fetchone()
    finally:
        conn.close()
    # Queued after the commit, so the worker never pops an id it can't see yet. If Redis is down the client gets a
    # 503 and the row stays unprocessed: a real app would queue from an outbox table.
    queue.rpush(QUEUE, row[0])
    return item_json(row)


@app.get("/items/{item_id}")
def read_item(item_id: int) -> dict:
    conn = connect_db()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT id, name, created_at, processed FROM items WHERE id = %s", (item_id,))
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return item_json(row)


@app.get("/health")
def health():
    """Checks the real dependencies, so a deploy's health check fails when the release can't reach them."""
    checks = {}
    try:
        conn = connect_db()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        finally:
            conn.close()
        checks["database"] = "ok"
    except (psycopg2.Error, RuntimeError) as error:
        checks["database"] = " ".join(str(error).split())
    try:
        queue.ping()
        checks["redis"] = "ok"
    except redis.RedisError as error:
        checks["redis"] = str(error)
    if (HERE / "BROKEN").exists():
        checks["release"] = "a file named BROKEN is in the release"
    healthy = all(value == "ok" for value in checks.values())
    if not healthy:
        log.warning("health check failed: %s", checks)
    return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, status_code=200 if healthy else 503)


@app.get("/")
def index() -> dict:
    return {"app": "items", "version": release_version(), "hostname": socket.gethostname()}


@app.get("/version", response_class=PlainTextResponse)
def version() -> str:
    return release_version() + "\n"
