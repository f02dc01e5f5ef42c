// Point-in-time recovery measured (`make bench-pitr`, as root): examples/django-app on a sandbox server whose WAL
// pgBackRest archives to a second one (backups.pitr). Printed:
//   RPO      seconds from a commit on an idle database to its WAL segment being in the repository on the other
//            server (what a server lost at that moment would lose; archive_timeout bounds it at 60 s);
//   restore  `restore --to-time T --into-live` of a moment among writes every 100 ms: the seconds it takes, the
//            rows kept (exactly those committed by T?) and the data loss window (T minus the last commit restored).
//   sudo node bench/pitr.mjs [--commits 2]
// Boots bench-pitr1 and bench-pitr2 and takes them down at the end. Prints figures only.
// Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, cli, commit, exec, must, option, prepareDjangoExample, sandboxSsh, serverAddress, stats, writeDjangoSandboxConfig } from './lib.mjs';

const DB = 'bench-pitr1';
const REPO = 'bench-pitr2';
const commits = Number(option('--commits', '2'));
const slipway = cli();
const onServer = async (address, command) => (await must('ssh', [...sandboxSsh(address), command])).stdout.trim();
const sql = (address, query) => onServer(address, `cd / && runuser -u postgres -- psql -AtX -d shop -c ${JSON.stringify(query)}`);

/** Seconds from one commit to the WAL segment holding it being archived (pg_stat_archiver), on an idle database. */
async function archiveDelay(address) {
  const segment = await sql(address, "INSERT INTO visits_visit (created_at, path) VALUES (now(), '/bench-rpo') RETURNING pg_walfile_name(pg_current_wal_lsn())");
  const started = performance.now();
  for (;;) {
    const last = await sql(address, 'SELECT coalesce(last_archived_wal, \'\') FROM pg_stat_archiver');
    if (last >= segment.split('\n')[0]) return (performance.now() - started) / 1000;
    if (performance.now() - started > 180_000) throw new Error(`segment ${segment} not archived within 180 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-pitr-'));
  try {
    await prepareDjangoExample(repo);
    const [db] = await Promise.all([serverAddress(DB), serverAddress(REPO)]);
    await writeDjangoSandboxConfig(repo, DB, [], ['backups:', '  pitr: true', '  verify_schedule: "off"', '  copy_to:', `    - sandbox: ${REPO}`, 'setup:', '  ufw: false', '  unattended_upgrades: false']);
    await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
    await commit(repo, 'v1');
    const setupStarted = performance.now();
    await slipway('-c', repo, 'setup', 'sandbox');
    const setupS = (performance.now() - setupStarted) / 1000;
    await slipway('-c', repo, 'deploy', 'sandbox');

    const delays = [];
    for (let i = 0; i < commits; i++) delays.push(await archiveDelay(db));

    const writing = onServer(db, 'for i in $(seq 40); do curl -s -o /dev/null http://127.0.0.1/; sleep 0.1; done');
    await new Promise((r) => setTimeout(r, 2000));
    const noted = await onServer(db, 'date -u +"%Y-%m-%d %H:%M:%S.%3N"');
    await writing;
    const kept = Number(await sql(db, `SELECT count(*) FROM visits_visit WHERE created_at <= '${noted}+00'`));
    await sql(db, 'DELETE FROM visits_visit');
    const restoreStarted = performance.now();
    const restored = await slipway('-c', repo, 'restore', 'sandbox', '--to-time', noted, '--into-live', '--yes-really-replace-live-data');
    const restoreS = (performance.now() - restoreStarted) / 1000;
    const reached = /the last transaction replayed was committed at (\S+)\)/.exec(restored.stdout)?.[1];
    const after = Number(await sql(db, 'SELECT count(*) FROM visits_visit'));
    const later = Number(await sql(db, `SELECT count(*) FROM visits_visit WHERE created_at > '${noted}+00'`));
    const windowS = reached ? (Date.parse(`${noted.replace(' ', 'T')}Z`) - Date.parse(reached)) / 1000 : NaN;

    console.log(`point-in-time recovery (examples/django-app; WAL archived with pgBackRest to ${REPO})`);
    console.log(`  setup with pitr (stanza, first full backup): ${setupS.toFixed(1)} s`);
    console.log(`  RPO, seconds from a commit on an idle database to its WAL in the repository: ${stats(delays)} (archive_timeout 60 s; target <= 60 s)`);
    console.log(`  restore --to-time into live, among writes every 100 ms: ${restoreS.toFixed(1)} s; rows ${after} of the ${kept} committed by the target, ${later} after it${after === kept && later === 0 ? ' (exact)' : ' (WRONG)'}`);
    console.log(`  data loss window at the target: ${windowS.toFixed(3)} s (the target minus the last commit restored)`);
    if (after !== kept || later !== 0) process.exitCode = 1;
  } finally {
    await Promise.all([DB, REPO].map((name) => exec(process.execPath, [CLI, 'sandbox', 'down', name, '--purge'])));
    await rm(repo, { recursive: true, force: true });
  }
}

await main();
