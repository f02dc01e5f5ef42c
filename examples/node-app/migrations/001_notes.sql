-- Each file in migrations/ runs once, in name order, inside a transaction (migrate.js): no IF NOT EXISTS needed.
CREATE TABLE notes (
    id           serial PRIMARY KEY,
    text         text NOT NULL,
    processed    boolean NOT NULL DEFAULT false,
    processed_at timestamptz
);
