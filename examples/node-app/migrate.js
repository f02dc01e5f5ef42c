// Applies migrations/*.sql in name order, each once, each in a transaction of its own; the names applied are in
// schema_migrations. deploy.yml's migrate command: it runs before the switch, and a failure fails the deploy.
// `node migrate.js --check` (migrate.check) only exits 1 when a file is pending, so a deploy with nothing to
// apply skips the pre-migration backup.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { HERE, db, closeDb, describe } = require('./store');

const DIR = path.join(HERE, 'migrations');

async function pendingOnly() {
  try {
    const { rows } = await db().query("SELECT name FROM schema_migrations").catch(() => ({ rows: [] }));
    const applied = new Set(rows.map((row) => row.name));
    const pending = fs.readdirSync(DIR).filter((name) => name.endsWith('.sql') && !applied.has(name)).sort();
    console.log(pending.length === 0 ? 'no pending migrations' : `pending: ${pending.join(' ')}`);
    return pending.length === 0;
  } finally {
    await closeDb();
  }
}

async function main() {
  if (process.argv.includes('--check')) {
    if (!(await pendingOnly())) process.exit(1);
    return;
  }
  const client = await db().connect();
  let current;
  try {
    // Two servers migrating at once would both apply the same file: the second waits here for the first.
    await client.query("SELECT pg_advisory_lock(hashtext('notes migrate'))");
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())');
    const { rows } = await client.query('SELECT name FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.name));
    const pending = fs.readdirSync(DIR).filter((name) => name.endsWith('.sql') && !applied.has(name)).sort();
    for (const name of pending) {
      current = name;
      await client.query('BEGIN');
      try {
        // A multi-statement file runs as one simple query: all of it or, with the ROLLBACK, none of it.
        await client.query(fs.readFileSync(path.join(DIR, name), 'utf8'));
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
      console.log(`applied ${name}`);
    }
    if (pending.length === 0) console.log('no pending migrations');
  } catch (error) {
    error.migration = current;
    throw error;
  } finally {
    client.release();
    await closeDb();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`migrate: ${error.migration ? `${error.migration}: ` : ''}${describe(error)}`);
    process.exit(1);
  },
);
