// Release ids sort by time: <UTC timestamp>-<sha7>, with a counter if the same commit lands twice in a second.

export function releaseId(now: Date, sha: string, existing: readonly string[]): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `${stamp}-${sha.slice(0, 7)}`;
  let id = base;
  for (let n = 2; existing.includes(id); n += 1) id = `${base}-${n}`;
  return id;
}
