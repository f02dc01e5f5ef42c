// Reading Python source by pattern, for `slipway init`: top-level assignments, string literals, HTTP routes.
// Pure functions of text; nothing here imports the code it reads.

/**
 * The text of the assignment `NAME = ...` at the top level of a module (its continuation lines included), or
 * undefined. The first one wins: settings usually assign once, and a later one under `if DEBUG:` is indented.
 */
export function assignment(text: string, name: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => new RegExp(String.raw`^${name}\s*(:[^=]*)?=(?!=)`).test(line));
  if (start < 0) return undefined;
  const statement = [lines[start]!];
  let depth = brackets(lines[start]!);
  for (let i = start + 1; i < lines.length; i += 1) {
    const line = lines[i]!;
    // Continues while brackets are open, after a trailing backslash, or while the next lines are indented.
    if (depth <= 0 && !statement.at(-1)!.trimEnd().endsWith('\\') && !/^\s+\S/.test(line)) break;
    statement.push(line);
    depth += brackets(line);
  }
  return statement.join('\n');
}

function brackets(line: string): number {
  const code = line.replace(/(['"]).*?\1/g, '').replace(/#.*/, '');
  return (code.match(/[([{]/g)?.length ?? 0) - (code.match(/[)\]}]/g)?.length ?? 0);
}

/** The string literals of a piece of code, in order (no f-strings' expressions, no escapes). */
export function stringLiterals(code: string): string[] {
  return [...code.matchAll(/(?<![A-Za-z0-9_])[rbuRBU]?(['"])((?:(?!\1)[^\\\n])*)\1/g)].map((m) => m[2]!);
}

/** The separator a `.split(...)` in the code splits on: `.split()` is whitespace, none found is a comma. */
export function splitSeparator(code: string): string {
  const split = /\.split\(\s*(?:(['"])(.*?)\1)?\s*\)/.exec(code);
  if (!split) return ',';
  return split[2] === undefined ? ' ' : split[2];
}

/** How many directories above the settings file BASE_DIR is (`Path(__file__).resolve().parent.parent` is 2). */
export function baseDirLevels(text: string): number | undefined {
  const base = assignment(text, 'BASE_DIR');
  if (!base || !base.includes('__file__')) return undefined;
  const levels = (base.match(/\.parent\b/g)?.length ?? 0) + (base.match(/\bdirname\(/g)?.length ?? 0);
  return levels > 0 ? levels : undefined;
}

/** `BASE_DIR / "a" / "b"`, `os.path.join(BASE_DIR, "a", "b")`: the path under BASE_DIR ("a/b"), if the code is one. */
export function underBaseDir(code: string): string | undefined {
  const slash = /\bBASE_DIR((?:\s*\/\s*(['"])[^'"]+\2)+)/.exec(code);
  if (slash) return stringLiterals(slash[1]!).join('/');
  const join = /os\.path\.join\(\s*BASE_DIR\s*,([^)]*)\)/.exec(code);
  if (join) return stringLiterals(join[1]!).join('/');
  return undefined;
}

export interface Route {
  path: string;
  file: string;
}

const HEALTH = /health|^\/?(ht|ping|status|up|alive|ready)\/?$/i;

/** FastAPI (and Starlette/Flask-style) decorators: `@app.get("/health")`, `@router.api_route("/healthz")`. */
export function decoratedHealthRoutes(file: string, text: string): Route[] {
  return [...text.matchAll(/^\s*@\w+\.(?:get|api_route|route|head)\(\s*(['"])(\/[^'"]*)\1/gm)]
    .map((m) => m[2]!)
    .filter((path) => HEALTH.test(path))
    .map((path) => ({ path, file }));
}

/** Django URLconf entries: `path("health/", ...)`, `re_path(r"^health/$", ...)`, an include of django-health-check. */
export function urlconfHealthRoutes(file: string, text: string): Route[] {
  const routes: Route[] = [];
  for (const m of text.matchAll(/\b(?:path|re_path|url)\(\s*r?(['"])\^?([^'"]*?)\$?\1([^\n]*)/g)) {
    const route = m[2]!;
    if (HEALTH.test(route) || m[3]!.includes('health_check.urls')) routes.push({ path: `/${route}`, file });
  }
  return routes;
}

/** Prefers the usual names, in this order, over any other route that looks like a health check. */
export function bestHealthRoute(routes: readonly Route[]): Route | undefined {
  const preferred = ['/health/', '/health', '/healthz', '/healthz/', '/ht/'];
  for (const path of preferred) {
    const found = routes.find((r) => r.path === path);
    if (found) return found;
  }
  return routes[0];
}
