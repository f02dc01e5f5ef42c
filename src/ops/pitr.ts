// What setup reads for point-in-time recovery on the database server and on the repository host (plan/pitr.ts).
import type { Snippet } from './command.js';
import { quote } from './shell.js';
import { AS_POSTGRES } from './postgres.js';
import { HOST_KEYS_PROBE, publicKeyProbe } from './backup-copies.js';
import { fileHashes } from './setup-probe.js';
import { pgbackrest, pitrAccount, pitrRemotePath } from '../render/pitr.js';

const authorized = (file: string, stanza: string) => `if [ -f ${quote(file)} ]; then grep -F ${quote(`command="${pitrRemotePath(stanza)}"`)} ${quote(file)} | sed 's/^/authorized /' || true; fi`;

export function pitrDbProbe(stanza: string, keyDir: string, authorizedKeys: string, files: readonly string[]): Snippet {
  return {
    shell: [
      'if command -v pgbackrest >/dev/null 2>&1; then echo installed; fi',
      publicKeyProbe(keyDir),
      ...fileHashes(files),
      authorized(authorizedKeys, stanza),
      HOST_KEYS_PROBE,
      `echo "pgpath $(${AS_POSTGRES} psql -XAtqc 'SHOW data_directory')"`,
      `echo "pgversion $(${AS_POSTGRES} psql -XAtqc 'SHOW server_version_num')"`,
      `for s in archive_mode archive_command archive_timeout; do echo "pgsetting $s $(${AS_POSTGRES} psql -XAtqc "SHOW $s")"; done`,
    ].join('\n'),
  };
}

export function pitrRepoProbe(stanza: string, keyDir: string, authorizedKeys: string, files: readonly string[], timers: readonly string[]): Snippet {
  const account = quote(pitrAccount(stanza));
  return {
    shell: [
      'if command -v pgbackrest >/dev/null 2>&1; then echo installed; fi',
      `if id -u ${account} >/dev/null 2>&1; then echo account; fi`,
      publicKeyProbe(keyDir),
      ...fileHashes(files),
      authorized(authorizedKeys, stanza),
      HOST_KEYS_PROBE,
      ...timers.map((t) => `if systemctl is-enabled --quiet ${quote(t)} 2>/dev/null; then echo "timer ${t}"; fi`),
      // The stanza's own status is the last `status` of pgBackRest's info (0 ok, 2 no backup yet...).
      `if command -v pgbackrest >/dev/null 2>&1 && id -u ${account} >/dev/null 2>&1; then code=$(env -C / runuser -u ${account} -- ${pgbackrest(stanza)} --output=json info 2>/dev/null | grep -o '"status":{"code":[0-9]*' | tail -n 1 | grep -o '[0-9]*$' || true); if [ -n "$code" ]; then echo "stanza $code"; fi; fi`,
    ].join('\n'),
  };
}

/** PostgreSQL's major version on the database server, for the scratch cluster's binaries. */
export const pgVersionProbe: Snippet = { shell: `echo "pgversion $(${AS_POSTGRES} psql -XAtqc 'SHOW server_version_num')"` };
