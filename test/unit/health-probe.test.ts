// The health probe's timing with a fake curl: a port that refuses connections is looked at every 50 ms without
// spending attempts, while an app that answers wrongly waits the whole backoff delay between its attempts.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthProbe } from '../../src/ops/health.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-health-'));
const bin = join(scratch, 'bin');
mkdirSync(bin, { recursive: true });
// Answers one `code:exit` line of $CODES per call (the last one forever), counting calls in $CALLS: `000:7` is a
// refused connection as curl reports it. With $SOCKET, a call while that socket does not exist is refused too.
writeFileSync(
  join(bin, 'curl'),
  '#!/bin/sh\nn=$(cat "$CALLS" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$CALLS"\nif [ -n "${SOCKET:-}" ] && [ ! -S "$SOCKET" ]; then printf 000; exit 7; fi\nline=$(sed -n "${n}p" "$CODES"); [ -n "$line" ] || line=$(tail -n 1 "$CODES")\nprintf %s "${line%%:*}"\nexit "${line#*:}"\n',
);
chmodSync(join(bin, 'curl'), 0o755);

/** The probe against the fake curl; `before` runs first in the same shell (a socket that appears later). */
function probe(codes: string[], retries: number, socket?: { path: string; before: string }) {
  const dir = mkdtempSync(join(scratch, 'h-'));
  writeFileSync(join(dir, 'codes'), `${codes.join('\n')}\n`);
  const started = performance.now();
  const check = healthProbe({ url: 'http://127.0.0.1:8000/health', expectedStatus: 200, timeoutSeconds: 1, retries, ...(socket ? { socket: socket.path } : {}) });
  // As in a host script: errexit, nounset and pipefail on.
  const result = spawnSync('bash', ['-c', `set -euo pipefail\n${socket?.before ?? ''}\n${check.shell}`], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, CODES: join(dir, 'codes'), CALLS: join(dir, 'calls'), ...(socket ? { SOCKET: socket.path } : {}) },
  });
  const seconds = (performance.now() - started) / 1000;
  const calls = Number(execFileSync('cat', [join(dir, 'calls')], { encoding: 'utf8' }).trim());
  return { status: result.status, stdout: result.stdout, calls, seconds };
}

describe('health probe timing', () => {
  it('sees an app that starts listening between attempts within 50 ms, not at the next attempt', () => {
    // The old schedule would have passed at the sixth attempt, after 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s.
    const result = probe(['000:7', '000:7', '000:7', '000:7', '000:7', '200:0'], 10);
    expect(result).toMatchObject({ status: 0, calls: 6 });
    expect(result.seconds).toBeLessThan(1.5);
  });

  it('spends no attempt on refused looks, and gives up after the same delays when nothing ever listens', () => {
    // Two attempts: one delay of 0.1 s, looked into twice (50 ms each); the last look is the second attempt.
    expect(probe(['000:7'], 2)).toMatchObject({ status: 1, calls: 3, stdout: 'health check failed: http://127.0.0.1:8000/health answered 000, expected 200\n' });
    expect(probe(['000:7', '000:7', '200:0'], 2)).toMatchObject({ status: 0, calls: 3 });
  });

  it('waits the whole delay before the next attempt when the app answered wrongly', () => {
    const result = probe(['503:0', '503:0', '200:0'], 3);
    expect(result).toMatchObject({ status: 0, calls: 3 });
    expect(result.seconds).toBeGreaterThanOrEqual(0.3); // 0.1 + 0.2
  });

  it('through a socket, waits for the socket to exist before the first attempt, within the first delay', () => {
    const path = join(mkdtempSync(join(scratch, 's-')), 'web.sock');
    // The socket appears 60 ms after the check starts (a child that python forks once it is up, so its own start
    // is not in that time): the first curl is the one that answers.
    const later = `python3 -c 'import os, socket, sys, time\nif os.fork() == 0: time.sleep(0.06); socket.socket(socket.AF_UNIX).bind(sys.argv[1]); os._exit(0)' ${path}`;
    expect(probe(['200:0'], 3, { path, before: later })).toMatchObject({ status: 0, calls: 1 });
    // One that never appears: looked at for the first delay only, then the attempts go on as without a socket
    // (all refused here: two attempts, the 0.1 s delay between them looked into twice).
    const never = join(scratch, 'never.sock');
    const result = probe(['200:0'], 2, { path: never, before: '' });
    expect(result).toMatchObject({ status: 1, calls: 3 });
    expect(result.seconds).toBeGreaterThanOrEqual(0.2);
  });

  it('after a refused first attempt and a wrong answer, goes back to whole delays', () => {
    // Refused, then 503 at the first 50 ms look (the second attempt), then the 0.2 s delay waited out: 200.
    const result = probe(['000:7', '503:0', '200:0'], 3);
    expect(result).toMatchObject({ status: 0, calls: 3 });
    expect(result.seconds).toBeGreaterThanOrEqual(0.25);
  });
});
