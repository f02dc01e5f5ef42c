// What an agent session keeps of a script's output, and how it names a lock holder: bounded, whatever a host sends.

/**
 * A script's output kept in memory: the last lines, each cut to a length. The facts probe stays far below it;
 * a build that prints without end (the full output is in the local deploy log) cannot exhaust memory.
 */
export const OUTPUT_LIMITS = { lines: 100_000, lineChars: 256 * 1024 };

export function keepLast(lines: string[], line: string): void {
  lines.push(line);
  // Trimmed in batches, so a long run of output costs linear time.
  if (lines.length > OUTPUT_LIMITS.lines * 1.1) lines.splice(0, lines.length - OUTPUT_LIMITS.lines);
}

export function describeHolder(json: string): string {
  try {
    const h = JSON.parse(json) as Record<string, unknown>;
    return `${String(h.user)}@${String(h.machine)} (pid ${String(h.pid)}), running \`${String(h.command)}\` since ${String(h.started_at)}`;
  } catch {
    return json || 'holder unknown';
  }
}
