import { describe, expect, it } from 'vitest';
import { databaseSql, ensureDatabase } from '../../src/ops/postgres.js';
import { renderCmd } from '../../src/ops/shell.js';

const sql = (body: string[], tag = '$$') =>
  [
    `DO ${tag} BEGIN`,
    ...body,
    `END ${tag};`,
    "SELECT 'CREATE DATABASE shop OWNER shop' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'shop')\\gexec",
    '',
  ].join('\n');
const roleBody = (literal: string) => [
  "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop') THEN",
  `    CREATE ROLE shop LOGIN PASSWORD ${literal};`,
  '  ELSE',
  `    ALTER ROLE shop WITH LOGIN PASSWORD ${literal};`,
  '  END IF;',
];

describe('database SQL', () => {
  it('creates or updates the role and creates the database only when missing', () => {
    expect(databaseSql({ name: 'shop', user: 'shop', password: 'pw' })).toBe(sql(roleBody("'pw'")));
  });

  it('doubles single quotes in the password literal', () => {
    expect(databaseSql({ name: 'shop', user: 'shop', password: "it's'; DROP ROLE x; --" })).toBe(sql(roleBody("'it''s''; DROP ROLE x; --'")));
  });

  it('picks a dollar quote the password does not contain, so `$$` cannot end the DO block', () => {
    expect(databaseSql({ name: 'shop', user: 'shop', password: 'a$$b' })).toBe(sql(roleBody("'a$$b'"), '$slipway0$'));
    expect(databaseSql({ name: 'shop', user: 'shop', password: 'a$$b$slipway0$c' })).toBe(sql(roleBody("'a$$b$slipway0$c'"), '$slipway1$'));
  });

  it('runs as postgres from /, the SQL (with the password) on stdin as a secret', () => {
    const command = ensureDatabase({ name: 'shop', user: 'shop', password: 'hunter2-pw' });
    expect(command.stdin).toEqual({ text: databaseSql({ name: 'shop', user: 'shop', password: 'hunter2-pw' }), secret: true });
    expect(renderCmd(command, { redact: true })).toBe(
      "(cd / && sudo -n -H -u postgres -- psql -v ON_ERROR_STOP=1 --quiet --no-psqlrc) <<'SLIPWAY_EOF_0'\n<redacted: secret values>\nSLIPWAY_EOF_0",
    );
  });
});
