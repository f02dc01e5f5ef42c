"""The queue worker: `python worker.py`. Pops item ids from the Redis list items:queue and marks them processed.

On SIGTERM (systemctl stop) it finishes the item in hand and exits within BLPOP's 5-second timeout.
"""
import logging
import signal
import sys
import time

import psycopg2
import redis

from store import QUEUE, connect_db, connect_redis

POP_TIMEOUT = 5

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s worker: %(message)s")
log = logging.getLogger("worker")
stopping = False


def stop(signum, frame) -> None:
    # Only a flag: the loop checks it between items, so an item popped from the queue is never dropped halfway.
    global stopping
    stopping = True
    log.info("%s received: stopping after the current item", signal.Signals(signum).name)


def mark_processed(conn, item_id: int) -> bool:
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE items SET processed = true, processed_at = now() WHERE id = %s", (item_id,))
        return cur.rowcount == 1


def main() -> int:
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # BLPOP blocks for up to POP_TIMEOUT: the socket timeout must be longer, or every idle wait is an error.
    queue = connect_redis(socket_timeout=POP_TIMEOUT + 5)
    conn = None
    log.info("waiting for items on %s", QUEUE)
    while not stopping:
        try:
            popped = queue.blpop([QUEUE], timeout=POP_TIMEOUT)
        except redis.RedisError as error:
            log.warning("redis: %s; retrying in 1 s", error)
            time.sleep(1)
            continue
        if popped is None:
            continue
        item_id = int(popped[1])
        try:
            if conn is None or conn.closed:
                conn = connect_db()
            if mark_processed(conn, item_id):
                log.info("item %d processed", item_id)
            else:
                log.warning("item %d not found; dropped", item_id)
        except psycopg2.Error as error:
            # Put it back at the head of the queue for the next attempt.
            log.warning("database: %s; item %d requeued, retrying in 1 s", " ".join(str(error).split()), item_id)
            if conn is not None:
                conn.close()
            conn = None
            queue.lpush(QUEUE, item_id)
            time.sleep(1)
    if conn is not None:
        conn.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
