// Which old releases a deploy removes: the oldest beyond keep_releases, never current, previous or new.

export function releasesToRemove(ids: readonly string[], keep: number, protect: ReadonlySet<string>): string[] {
  const sorted = [...ids].sort();
  const excess = sorted.length - keep;
  if (excess <= 0) return [];
  return sorted.filter((id) => !protect.has(id)).slice(0, excess);
}
