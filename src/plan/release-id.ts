// Release ids sort by time: <UTC timestamp with milliseconds>-<sha7> (two deploys in one second still sort in
// order, which rollback relies on), with a counter if the same id ever comes up twice.

export function releaseId(now: Date, sha: string, existing: readonly string[]): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  const base = `${stamp}-${sha.slice(0, 7)}`;
  let id = base;
  for (let n = 2; existing.includes(id); n += 1) id = `${base}-${n}`;
  return id;
}
