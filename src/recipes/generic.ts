// Apps without a framework recipe: a Python app gets its venv; a generic one runs only what is configured.
import type { Recipe } from './types.js';

export const pythonRecipe: Recipe = {
  name: 'python',
  detect: (files) => files.paths.some((p) => /^requirements[^/]*\.txt$/.test(p) || p === 'pyproject.toml' || p === 'setup.py'),
  defaults: ({ files }) => ({
    python: true,
    requirementsFiles: files.paths.includes('requirements.txt') ? ['requirements.txt'] : [],
    processes: {},
    healthPath: '/health',
    systemPackages: ['python3-venv'],
  }),
};

export const genericRecipe: Recipe = {
  name: 'generic',
  detect: () => true,
  defaults: () => ({ python: false, requirementsFiles: [], processes: {}, healthPath: '/health', systemPackages: [] }),
};
