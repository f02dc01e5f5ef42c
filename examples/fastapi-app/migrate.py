"""Creates the schema; safe to run at every deploy (deploy.yml: `migrate: {command: python migrate.py}`)."""
import sys

from store import connect_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed    boolean NOT NULL DEFAULT false,
    processed_at timestamptz
)
"""


def main() -> int:
    conn = connect_db()
    try:
        with conn, conn.cursor() as cur:  # one transaction: all of it or nothing
            cur.execute(SCHEMA)
            cur.execute("SELECT count(*) FROM items")
            (count,) = cur.fetchone()
    finally:
        conn.close()
    print(f"schema ready: table items has {count} row(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
