// What `slipway init` learns from a FastAPI app (pure): where the app object is, alembic, the database, a
// health route.
import { PG_DRIVERS } from './describe-django.js';
import type { Finding } from './describe.js';
import { findAsgiApp } from './fastapi.js';
import { bestHealthRoute, decoratedHealthRoutes, type Route } from './python-source.js';
import { requirementsIn, type RepoFiles } from './types.js';

export interface FastapiFindings {
  /** `module:variable` of the first `X = FastAPI(` anywhere in the tree (the recipe looks in a few files only). */
  app?: string;
  alembic: boolean;
  postgres: boolean;
  health?: Route;
  findings: Finding[];
}

export function describeFastapi(files: RepoFiles, sources: readonly string[]): FastapiFindings {
  const findings: Finding[] = [];
  const app = findAsgiApp(files) ?? findAsgiApp(files, sources);
  if (!app) findings.push({ key: 'processes.web.command', message: 'no `app = FastAPI(...)` found: the recipe serves main:app; set processes.web.command (python -m uvicorn MODULE:APP --host 127.0.0.1 --port $PORT) and port' });
  const alembic = files.paths.includes('alembic.ini');
  // A PostgreSQL driver in the requirements: what the app connects with (DATABASE_URL alone may name SQLite).
  const postgres = requirementsIn(files).some((name) => PG_DRIVERS.includes(name));
  if (postgres && !alembic) findings.push({ key: 'migrate.command', message: 'no alembic.ini, so no migration runs before the switch: set migrate.command if the app creates its schema another way (e.g. python migrate.py)' });
  const health = bestHealthRoute(sources.flatMap((file) => decoratedHealthRoutes(file, files.read(file) ?? '')));
  return { ...(app ? { app } : {}), alembic, postgres, ...(health ? { health } : {}), findings };
}
