// FastAPI: uvicorn serving the module that creates the FastAPI app.
import { quote } from '../ops/shell.js';
import type { Recipe, RepoFiles } from './types.js';
import { requirementsIn } from './types.js';

const CANDIDATES = ['main.py', 'app.py', 'app/main.py', 'src/main.py', 'api/main.py'];

/** `module:variable` of the first of `paths` that assigns `X = FastAPI(`, if any (`slipway init` searches every file). */
export function findAsgiApp(files: RepoFiles, paths: readonly string[] = CANDIDATES): string | undefined {
  for (const path of paths) {
    const variable = files.read(path)?.match(/^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*FastAPI\(/m)?.[1];
    if (variable) return `${path.replace(/\.py$/, '').replaceAll('/', '.')}:${variable}`;
  }
  return undefined;
}

/** `module:variable` of the ASGI app: the first candidate file assigning `X = FastAPI(`, else main:app. */
export function asgiApp(files: RepoFiles): string {
  return findAsgiApp(files) ?? 'main:app';
}

export const fastapiRecipe: Recipe = {
  name: 'fastapi',
  detect: (files) => requirementsIn(files).some((name) => name === 'fastapi' || name === 'uvicorn'),
  defaults({ files }) {
    const app = asgiApp(files);
    const [module, variable] = app.split(':') as [string, string];
    return {
      python: true,
      requirementsFiles: files.paths.includes('requirements.txt') ? ['requirements.txt'] : [],
      processes: { web: { command: `python -m uvicorn ${app} --host 127.0.0.1 --port $PORT`, port: 8000, roles: ['web'] } },
      healthPath: '/health',
      ...(files.paths.includes('alembic.ini') ? { migrate: { command: 'python -m alembic upgrade head' } } : {}),
      smoke: `python -c ${quote(`import ${module}; ${module}.${variable}`)}`,
      systemPackages: ['python3-venv'],
    };
  },
};
