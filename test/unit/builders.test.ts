// Every builder as the exact shell text it becomes: what `plan` prints and what a host runs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, exitMarker, lockStatusProbe } from '../../src/ops/agent.js';
import type { Cmd } from '../../src/ops/command.js';
import { backoffDelays, healthProbe } from '../../src/ops/health.js';
import { appendHistory, parseHistory, type HistoryEntry } from '../../src/ops/history.js';
import { factsProbe } from '../../src/ops/probe.js';
import { otherDefaultSites } from '../../src/ops/web.js';
import {
  createRelease,
  fetchSource,
  linkShared,
  makeDirectories,
  markFailed,
  packSource,
  receivePack,
  commitsCheck,
  tidyRepo,
  removeRelease,
  setStatus,
  switchCurrent,
  writeManifest,
  writeReleaseIdentity,
  sealRelease,
} from '../../src/ops/release.js';
import { ensureAppUser, ownShared, sha256 } from '../../src/ops/services.js';
import { systemdManager } from '../../src/ops/systemd-manager.js';
import { renderCmd } from '../../src/ops/shell.js';
import { appCommand } from '../../src/ops/app-command.js';
import { controlName, gitSshCommand, masterArgs, masterExitArgs, sshOptions } from '../../src/ops/ssh.js';
import { layoutFor } from '../../src/plan/layout.js';
import type { Target } from '../../src/plan/target.js';
import { testConfig } from './fixtures/config.js';

const layout = layoutFor(testConfig(), 'main');
const ID = '20240102T030405.678Z-abc1234';
const SHA = 'abc1234def5678abc1234def5678abc1234def56';
const R = `/opt/shop/releases/${ID}`;
const M = `/opt/shop/.slipway/releases/${ID}`;
const text = (commands: Cmd | Cmd[]) => [commands].flat().map((c) => renderCmd(c));

describe('release builders', () => {
  it('writeReleaseIdentity writes REVISION (unless the repository has one) and the SLIPWAY_* file, which sh reads back exactly', () => {
    const root = mkdtempSync(join(tmpdir(), 'slipway-identity-'));
    try {
      const at = layoutFor({ ...testConfig(), base_path: root }, 'main');
      const ref = "feat/$HOME\"it's`x`";
      for (const id of ['R1', 'R2']) mkdirSync(join(at.releases, id), { recursive: true });
      writeFileSync(join(at.releases, 'R2', 'REVISION'), 'the app\'s own\n');
      for (const id of ['R1', 'R2']) execFileSync('bash', ['-c', `set -euo pipefail\n${renderCmd(writeReleaseIdentity(at, { id, sha: SHA, ref }))}`]);
      expect(readFileSync(join(at.releases, 'R1', 'REVISION'), 'utf8')).toBe(`${SHA}\n`);
      expect(readFileSync(join(at.releases, 'R2', 'REVISION'), 'utf8')).toBe("the app's own\n");
      // As appCommand loads it (systemd's EnvironmentFile reads the same double-quoted form).
      const read = execFileSync('sh', ['-c', 'set -a; . ./.slipway-release.env; set +a; printf "%s|%s|%s" "$SLIPWAY_RELEASE" "$SLIPWAY_SHA" "$SLIPWAY_REF"'], { cwd: join(at.releases, 'R1'), encoding: 'utf8' });
      expect(read).toBe(`R1|${SHA}|${ref}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('makeDirectories creates the tree, the shared paths and the cached repo once', () => {
    expect(text(makeDirectories(layout, []))).toEqual([
      'mkdir -p /opt/shop/releases /opt/shop/shared /opt/shop/.slipway/releases',
      '{ test -d /opt/shop/.slipway/repo.git || git init --bare --quiet /opt/shop/.slipway/repo.git; }',
    ]);
    expect(text(makeDirectories(layout, ['media', 'logs/app'], ['db.sqlite3', 'config/local.py', 'config/extra.ini']))).toEqual([
      'mkdir -p /opt/shop/releases /opt/shop/shared /opt/shop/.slipway/releases /opt/shop/shared/media /opt/shop/shared/logs/app /opt/shop/shared/config',
      'touch /opt/shop/shared/db.sqlite3 /opt/shop/shared/config/local.py /opt/shop/shared/config/extra.ini',
      '{ test -d /opt/shop/.slipway/repo.git || git init --bare --quiet /opt/shop/.slipway/repo.git; }',
    ]);
  });

  it('fetchSource fetches into the cached repo, never taking the URL for an option, and checks the commit', () => {
    expect(text(fetchSource(layout, 'git@github.com:acme/shop.git', SHA))).toEqual([
      "git --git-dir=/opt/shop/.slipway/repo.git fetch --quiet --force --prune --tags -- git@github.com:acme/shop.git '+refs/heads/*:refs/heads/*'",
      `git --git-dir=/opt/shop/.slipway/repo.git cat-file -e '${SHA}^{commit}'`,
    ]);
    expect(text(fetchSource(layout, '--upload-pack=touch /tmp/x', SHA))[0]).toBe(
      "git --git-dir=/opt/shop/.slipway/repo.git fetch --quiet --force --prune --tags -- '--upload-pack=touch /tmp/x' '+refs/heads/*:refs/heads/*'",
    );
  });

  it('packSource packs what the commit needs beyond the bases (thin), or all of it with none', () => {
    const BASE = 'b'.repeat(40);
    expect(text(packSource('/home/me/shop/.git', SHA, [BASE]))).toEqual([
      `git --git-dir=/home/me/shop/.git pack-objects --revs --thin --stdout --delta-base-offset -q <<'SLIPWAY_EOF_0'\n${SHA}\n^${BASE}\nSLIPWAY_EOF_0`,
    ]);
    expect(packSource('/g', SHA, []).stdin?.text).toBe(SHA);
  });

  it('receivePack indexes the carried pack into the cached repo, removes it, and keeps the commit under a ref named after the release', () => {
    expect(text(receivePack(layout, SHA, ID))).toEqual([
      'git --git-dir=/opt/shop/.slipway/repo.git index-pack --stdin --fix-thin > /dev/null < /opt/shop/.slipway/incoming.pack',
      'rm -f /opt/shop/.slipway/incoming.pack',
      `git --git-dir=/opt/shop/.slipway/repo.git update-ref refs/slipway/${ID} ${SHA}`,
    ]);
    expect(text([tidyRepo(layout)])).toEqual(['git --git-dir=/opt/shop/.slipway/repo.git gc --auto --quiet']);
    expect(commitsCheck('/g', [SHA, 'c'.repeat(40)]).stdin?.text).toBe(`${SHA}\n${'c'.repeat(40)}`);
  });

  it('createRelease unpacks the commit into a new directory (mkdir without -p: an existing release is an error)', () => {
    expect(text(createRelease(layout, ID, SHA))).toEqual([`mkdir ${R}`, `git --git-dir=/opt/shop/.slipway/repo.git archive --format=tar ${SHA} | tar -x -C ${R}`]);
  });

  it('linkShared replaces each shared path in the release with a link', () => {
    expect(text(linkShared(layout, ID, ['media', 'logs/app'], ['config/local.py']))).toEqual([
      `rm -rf ${R}/media`,
      `ln -s /opt/shop/shared/media ${R}/media`,
      `rm -rf ${R}/logs/app`,
      `mkdir -p ${R}/logs`,
      `ln -s /opt/shop/shared/logs/app ${R}/logs/app`,
      `rm -rf ${R}/config/local.py`,
      `mkdir -p ${R}/config`,
      `ln -s /opt/shop/shared/config/local.py ${R}/config/local.py`,
    ]);
    expect(linkShared(layout, ID, [], [])).toEqual([]);
  });

  it('writeManifest records the release; sealRelease its lockfile hashes and status prepared', () => {
    const manifest = { id: ID, sha: SHA, ref: 'main', config_hash: '0123456789abcdef', deployed_by: 'me@laptop', created_at: '2024-01-02T03:04:05.678Z' };
    expect(text(writeManifest(layout, manifest))).toEqual([`mkdir -p ${M}`, `tee ${M}/manifest.json > /dev/null <<'SLIPWAY_EOF_0'\n${JSON.stringify(manifest, null, 2)}\nSLIPWAY_EOF_0`]);
    expect(text(sealRelease(layout, ID))).toEqual([
      `find ${R} -maxdepth 1 -type f '(' -name 'requirements*.txt' -o -name package-lock.json -o -name poetry.lock -o -name Pipfile.lock -o -name yarn.lock ')' -exec sha256sum '{}' + > ${M}/lockfiles.sha256`,
      `printf '%s\\n' prepared > ${M}/status`,
    ]);
  });

  it('status, switch and removal', () => {
    expect(text(setStatus(layout, ID, 'bad'))).toEqual([`printf '%s\\n' bad > ${M}/status`]);
    expect(text(markFailed(layout, ID))).toEqual([`{ test '!' -d ${M} || printf '%s\\n' failed > ${M}/status; }`]);
    expect(text(switchCurrent(layout, ID))).toEqual([`ln -sfn ${R} /opt/shop/.current-next`, 'mv -T /opt/shop/.current-next /opt/shop/current']);
    expect(text(removeRelease(layout, ID))).toEqual([`{ rm -rf ${R} ${M} || echo 'warning: could not remove old release ${ID}'; }`]);
  });

  it('hook runs a config line through sh -c in the release, with .env loaded, as the app user when there is one', () => {
    expect(text(appCommand({ dir: R, line: 'npm ci && npm run build', user: 'shop', runtime: undefined }))).toEqual([
      `(cd ${R} && sudo -n -H -u shop -- sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; npm ci && npm run build')`,
    ]);
    expect(text(appCommand({ dir: R, line: "echo 'it''s' $(date) `id`; rm -rf /", user: undefined, runtime: undefined }))).toEqual([
      `(cd ${R} && sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; echo '\\''it'\\'''\\''s'\\'' $(date) \`id\`; rm -rf /')`,
    ]);
  });
});

describe('service builders', () => {
  it('ensureAppUser creates a system user without a login shell, only when missing', () => {
    expect(text(ensureAppUser(layout))).toEqual([
      '{ id -u shop >/dev/null 2>&1 || useradd --system --user-group --home-dir /opt/shop --no-create-home --shell /usr/sbin/nologin shop; }',
    ]);
  });

  it('ownShared hands the shared tree to the app user', () => {
    expect(text(ownShared(layout))).toEqual(['chown -R shop:shop /opt/shop/shared']);
  });

  it('installUnits writes only changed units, atomically, then reloads and enables all', () => {
    const { install: installUnits } = systemdManager(layout);
    const units = [
      { name: 'shop.target', text: '[Unit]\nDescription=shop\n' },
      { name: 'shop-web.service', text: '[Service]\nExecStart=/bin/true\n' },
    ];
    expect(installUnits(units, { 'shop.target': sha256(units[0]!.text), 'shop-web.service': sha256(units[1]!.text) })).toEqual([]);
    // Verified by systemd in a scratch dir first, then copied next to its final place and renamed over it.
    expect(text(installUnits(units, { 'shop.target': sha256(units[0]!.text), 'shop-web.service': 'stale' }))).toEqual([
      'mkdir -p /run/slipway/verify',
      'install -m 644 /dev/null /run/slipway/verify/shop-web.service.slipway-new',
      "tee /run/slipway/verify/shop-web.service.slipway-new > /dev/null <<'SLIPWAY_EOF_0'\n[Service]\nExecStart=/bin/true\nSLIPWAY_EOF_0",
      'mv -f /run/slipway/verify/shop-web.service.slipway-new /run/slipway/verify/shop-web.service',
      'systemd-analyze verify /run/slipway/verify/shop-web.service',
      'cp /run/slipway/verify/shop-web.service /etc/systemd/system/shop-web.service.slipway-new',
      'mv -f /etc/systemd/system/shop-web.service.slipway-new /etc/systemd/system/shop-web.service',
      'systemctl daemon-reload',
      'systemctl enable --quiet shop.target shop-web.service',
    ]);
    expect(text(installUnits(units, {}))).toHaveLength(14);
    const template = { name: 'shop-web@.service', text: '[Service]\n' };
    expect(text(installUnits([units[0]!, template], {})).at(-1)).toBe('systemctl enable --quiet shop.target');
  });

  it('restart (after clearing the start limit) and stop name every unit in one command, or nothing', () => {
    const { restart: restartUnits, stop: stopUnits } = systemdManager(layout);
    expect(text(restartUnits(['shop-web.service', 'shop-worker.service']))).toEqual([
      'systemctl reset-failed shop-web.service shop-worker.service',
      'systemctl restart shop-web.service shop-worker.service',
    ]);
    expect(text(stopUnits(['shop-web.service']))).toEqual(['systemctl stop shop-web.service']);
    expect(restartUnits([])).toEqual([]);
    expect(stopUnits([])).toEqual([]);
  });

  it('sha256 is the hex digest the probe compares with', () => {
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('health probe', () => {
  it('backs off from 100 ms, doubling up to 2 s, one delay fewer than attempts', () => {
    expect(backoffDelays(1)).toEqual([]);
    expect(backoffDelays(2)).toEqual(['0.1']);
    expect(backoffDelays(10)).toEqual(['0.1', '0.2', '0.4', '0.8', '1.6', '2.0', '2.0', '2.0', '2.0']);
  });

  it('renders curl with a timeout, the retry loop (50 ms looks while the port refuses) and a readable failure', () => {
    const attempt = "rc=0; status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8000/health) || rc=$?";
    expect(healthProbe({ url: 'http://127.0.0.1:8000/health', expectedStatus: 200, timeoutSeconds: 5, retries: 4 }).shell).toBe(
      [
        attempt,
        'for delay in 0.1:2 0.2:4 0.4:8; do [ "$status" = 200 ] && break',
        `  if [ "$rc" = 7 ]; then ticks=\${delay#*:}; while :; do sleep 0.05; ticks=$((ticks - 1)); ${attempt}; [ "$rc" = 7 ] && [ "$ticks" -gt 0 ] || break; done`,
        `  else sleep "\${delay%:*}"; ${attempt}; fi`,
        'done',
        `[ "$status" = 200 ] || { printf 'health check failed: %s answered %s, expected %s\\n' http://127.0.0.1:8000/health "$status" 200; false; }`,
      ].join('\n'),
    );
  });

  it('quotes a hostile path everywhere it appears', () => {
    const shell = healthProbe({ url: "http://127.0.0.1:8000/$(id)\"'`x`", expectedStatus: 204, timeoutSeconds: 1, retries: 1 }).shell;
    const quoted = `'http://127.0.0.1:8000/$(id)"'\\''\`x\`'`;
    expect(shell.split(quoted)).toHaveLength(5); // the first attempt, the 50 ms looks, the later attempts, the failure
    expect(shell).toContain('for delay in ; do');
    expect(shell.replaceAll(quoted, 'URL')).not.toMatch(/\$\(id\)|`x`/);
  });
});

describe('history', () => {
  const entry: HistoryEntry = {
    at: '2024-01-02T03:04:05.000Z',
    action: 'deploy',
    env: 'prod',
    user: 'me',
    machine: 'laptop',
    from: null,
    to: ID,
    sha: SHA,
    ref: 'main',
    result: 'ok',
    duration_ms: 1234,
  };

  it('appends one JSON line', () => {
    expect(text(appendHistory(layout, entry))).toEqual([`tee -a /opt/shop/.slipway/history.jsonl > /dev/null <<'SLIPWAY_EOF_0'\n${JSON.stringify(entry)}\nSLIPWAY_EOF_0`]);
  });

  it('parses the log and survives a torn last line and blank lines', () => {
    const second = { ...entry, action: 'rollback' as const, from: ID, to: 'older' };
    expect(parseHistory(`${JSON.stringify(entry)}\n\n${JSON.stringify(second)}\n{"at":"2024-01-0`)).toEqual([entry, second]);
    expect(parseHistory('')).toEqual([]);
  });
});

describe('remote agent', () => {
  const lock = { lockFile: layout.lockFile, holderFile: layout.holderFile, holder: { user: 'me', pid: 42, command: "slipway deploy prod --ref 'x'" }, waitSeconds: 0 };
  const loop = [
    'exec 3<&0',
    "echo '##slipway-ready'",
    "while IFS=' ' read -r -t 20 size carried carried_to; do",
    '  [ -z "$size" ] && continue',
    '  [ "$size" = 0 ] && { slipway_done=1; break; }',
    '  script=$(head -c "$size")',
    '  if [ -n "$carried" ]; then mkdir -p -- "${carried_to%/*}" && head -c "$carried" > "$carried_to" || break; fi',
    '  ( exec 9>&-; eval "$script" ) </dev/null 2>&1 &',
    '  job=$!',
    '  { while IFS= read -r -t 20 _; do :; done; kill -TERM "$job" 2>/dev/null; } <&3 &',
    '  watchdog=$!',
    '  wait "$job"; rc=$?',
    '  kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null',
    "  ( printf '\\n##slipway-exit-n0nce %s\\n' \"$rc\" ) 2>/dev/null",
    'done',
  ];

  it('takes the lock with flock, records the holder with its own pid, then serves scripts', () => {
    expect(agentScript('n0nce', lock).split('\n')).toEqual([
      'mkdir -p /opt/shop/.slipway || exit 70',
      'exec 9>>/opt/shop/.slipway/deploy.lock',
      "if ! flock -n 9; then echo '##slipway-lock-held'; cat /opt/shop/.slipway/lock-holder.json 2>/dev/null; exit 75; fi",
      `printf '{"agent_pid":%s,%s\\n' "$$" '"user":"me","pid":42,"command":"slipway deploy prod --ref '\\''x'\\''"}' > /opt/shop/.slipway/lock-holder.json`,
      ...loop,
    ]);
  });

  it('waits for the lock when asked', () => {
    expect(agentScript('n0nce', { ...lock, waitSeconds: 30 }).split('\n')[2]).toBe(
      "if ! flock -w 30 9; then echo '##slipway-lock-held'; cat /opt/shop/.slipway/lock-holder.json 2>/dev/null; exit 75; fi",
    );
  });

  it('runs without a lock for read-only commands', () => {
    expect(agentScript('n0nce').split('\n')).toEqual(loop.map((l) => l.replace('exec 9>&-; ', '')));
    expect(exitMarker('n0nce')).toBe('##slipway-exit-n0nce');
  });

  it('lock status probe', () => {
    expect(lockStatusProbe(layout.lockFile, layout.holderFile)).toBe(
      [
        'if [ ! -e /opt/shop/.slipway/deploy.lock ]; then echo free; exit 0; fi',
        'if flock -n /opt/shop/.slipway/deploy.lock true; then echo free; else echo held; cat /opt/shop/.slipway/lock-holder.json 2>/dev/null; fi',
      ].join('\n'),
    );
  });
});

describe('facts probe', () => {
  it('asks host-wide questions first, then reads the app directory', () => {
    expect(factsProbe(layout, SHA).shell.split('\n')).toEqual([
      'echo "cores $(nproc 2>/dev/null || echo 1)"',
      'p=$(command -v python3 || true); if [ -n "$p" ]; then echo "python $p"; fi',
      'if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then echo "flag systemd"; fi',
      'if id -u shop >/dev/null 2>&1; then echo "flag app-user"; fi',
      'slipway_hashed=(); for f in /etc/systemd/system/shop-*.service /etc/systemd/system/shop-*.timer /etc/systemd/system/shop.target; do [ -f "$f" ] && slipway_hashed+=("$f"); done',
      `if [ \${#slipway_hashed[@]} -gt 0 ]; then sha256sum "\${slipway_hashed[@]}" | while read -r h p; do printf 'unit %s %s\\n' "\${p##*/}" "$h"; done; fi`,
      'cd /opt/shop 2>/dev/null || exit 0',
      'if [ -L current ]; then echo "current $(readlink current)"; fi',
      `slipway_shas=(); slipway_sha_re='"sha": *"([0-9a-f]{40})"'`,
      `for d in releases/*/; do [ -d "$d" ] || continue; id=\${d%/}; id=\${id##*/}; st=unknown; [ -f .slipway/releases/$id/status ] && { read -r st < .slipway/releases/$id/status || true; }; echo "release $id $st"; if [ -f .slipway/releases/$id/manifest.json ]; then mapfile -t m < .slipway/releases/$id/manifest.json; IFS=; echo "manifest $id \${m[*]}"; [[ \${m[*]} =~ $slipway_sha_re ]] && slipway_shas+=("\${BASH_REMATCH[1]}"); unset IFS; fi; done`,
      'if [ -d .slipway/repo.git ]; then echo "flag repo"; fi',
      `if [ -s .slipway/history.jsonl ]; then printf 'last-operation %s\\n' "$(tail -n 1 .slipway/history.jsonl | head -c 65536)"; fi`,
      "if [ -f .slipway/singletons ]; then sed 's/^/singleton /' .slipway/singletons; fi",
      'for v in venvs/*/; do if [ -f "$v.slipway-complete" ]; then v=${v%/}; echo "venv ${v##*/}"; fi; done',
      'for v in node-deps/*/; do if [ -f "$v.slipway-complete" ]; then v=${v%/}; echo "node-deps ${v##*/}"; fi; done',
      'for v in node/*/; do if [ -f "$v.slipway-complete" ]; then v=${v%/}; echo "node-runtime ${v##*/}"; fi; done',
      `if [ -d .slipway/repo.git ]; then printf '%s\\n' ${SHA} "\${slipway_shas[@]}" | git --git-dir=.slipway/repo.git cat-file --batch-check='%(objectname) %(objecttype)' 2>/dev/null | ` +
        `while read -r s t; do [ "$t" = commit ] || continue; echo "have $s"; if [ "$s" = ${SHA} ]; then echo "flag commit"; fi; done || true; fi`,
      'true',
    ]);
  });

  it('asks a Node app\'s host for its own Node and machine type, host-wide', () => {
    expect(factsProbe(layout, undefined, { node: true }).shell.split('\n').slice(2, 4)).toEqual([
      'if command -v node >/dev/null 2>&1; then echo "node-system $(node --version 2>/dev/null)"; fi',
      'echo "machine $(uname -m)"',
    ]);
  });

  it('hashes wanted files in one sha256sum, with the paths quoted', () => {
    expect(factsProbe(layout, undefined, { files: ['/etc/nginx/sites-available/shop.conf', "/x/it's"] }).shell.split('\n').slice(2, 4)).toEqual([
      `slipway_hashed=(); for f in /etc/nginx/sites-available/shop.conf '/x/it'\\''s'; do [ -f "$f" ] && slipway_hashed+=("$f"); done`,
      `if [ \${#slipway_hashed[@]} -gt 0 ]; then sha256sum "\${slipway_hashed[@]}" | while read -r h p; do printf 'file %s %s\\n' "$p" "$h"; done; fi`,
    ]);
  });

  it('run by bash on an app directory, reports what parseFacts reads: releases, manifests, slots, venvs, hashed files', () => {
    const root = mkdtempSync(join(tmpdir(), 'slipway-probe-'));
    try {
      const at = layoutFor({ ...testConfig(), base_path: root }, 'main');
      const app = at.root;
      for (const [id, status] of [['R1', 'ok'], ['R2', 'bad']] as const) {
        mkdirSync(join(app, 'releases', id), { recursive: true });
        mkdirSync(join(at.meta, 'releases', id), { recursive: true });
        writeFileSync(join(at.meta, 'releases', id, 'status'), `${status}\n`);
      }
      writeFileSync(join(at.meta, 'releases', 'R1', 'manifest.json'), '{\n  "release": "R1",\n  "note": "two  spaces"\n}\n');
      mkdirSync(join(app, 'venvs', 'abc123'), { recursive: true });
      writeFileSync(join(app, 'venvs', 'abc123', '.slipway-complete'), '');
      mkdirSync(join(app, 'venvs', 'half'), { recursive: true });
      mkdirSync(at.slots, { recursive: true });
      symlinkSync(join(app, 'releases', 'R1'), join(at.slots, 'blue'));
      writeFileSync(at.liveSlotFile, 'blue\n');
      const site = join(root, "it's.conf");
      writeFileSync(site, 'server {}\n');
      const script = factsProbe(at, undefined, { files: [site, join(root, 'missing.conf')], slotProcess: 'web' }).shell;
      // A stand-in systemctl: `is-active` answers one line per unit, in order, as systemd's does.
      mkdirSync(join(root, 'bin'));
      writeFileSync(join(root, 'bin', 'systemctl'), '#!/bin/sh\n[ "$1" = is-active ] && printf "active\\ninactive\\n"; exit 3\n', { mode: 0o755 });
      const env = { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}` };
      const lines = execFileSync('bash', ['-c', `set -euo pipefail\n${script}`], { encoding: 'utf8', env }).trim().split('\n');
      expect(lines).toContain('release R1 ok');
      expect(lines).toContain('release R2 bad');
      expect(lines).toContain('manifest R1 {  "release": "R1",  "note": "two  spaces"}');
      expect(lines.filter((l) => l.startsWith('manifest '))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('venv '))).toEqual(['venv abc123']);
      expect(lines).toContain(`file ${site} ${createHash('sha256').update('server {}\n').digest('hex')}`);
      expect(lines.filter((l) => l.startsWith('file '))).toHaveLength(1);
      expect(lines).toContain('slot blue R1 active');
      expect(lines).toContain('slot green - inactive');
      expect(lines).toContain('live blue');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('skips the commit question without a sha', () => {
    expect(factsProbe(layout, undefined).shell).not.toContain('cat-file');
  });

  it('looks for the Python version asked for, also under pyenv, and for packages through dpkg', () => {
    const shell = factsProbe(layout, undefined, { pythonVersion: '3.11', packages: ['postgresql', 'python3.11-venv'] }).shell;
    expect(shell.split('\n')[1]).toBe('p=$(command -v python3.11 || ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11*/bin/python3.11 2>/dev/null | tail -n 1 || true); if [ -n "$p" ]; then echo "python $p"; fi');
    // The format's newline is a real one, inside single quotes.
    expect(shell).toContain("\ndpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' postgresql python3.11-venv 2>/dev/null | while read -r name state; do if [ \"$state\" = ii ]; then echo \"package $name\"; fi; done\n");
  });
});

describe('ssh arguments', () => {
  const minimal: Extract<Target, { kind: 'ssh' }> = { kind: 'ssh', label: 'web1', host: 'web1', roles: ['web'], hostKeyChecking: 'yes', connectTimeout: 10 };
  const full: Extract<Target, { kind: 'ssh' }> = {
    ...minimal,
    host: '10.0.0.5',
    user: 'deploy',
    port: 2222,
    identityFile: '/home/me/.ssh/id ed25519',
    knownHostsFile: '/tmp/known_hosts',
    hostKeyChecking: 'accept-new',
    connectTimeout: 3,
  };
  const common = ['-T', '-o', 'BatchMode=yes', '-o', 'ControlPath=/tmp/sw/c1'];

  it('verifies host keys, runs in batch mode, and adds only what is configured', () => {
    expect(sshOptions(minimal, '/tmp/sw/c1')).toEqual([...common, '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3']);
    expect(sshOptions(full, '/tmp/sw/c1')).toEqual([
      ...common,
      '-o', 'StrictHostKeyChecking=accept-new',
      '-o', 'ConnectTimeout=3',
      '-o', 'ServerAliveInterval=5',
      '-o', 'ServerAliveCountMax=3',
      '-p', '2222',
      '-l', 'deploy',
      '-i', '/home/me/.ssh/id ed25519', '-o', 'IdentitiesOnly=yes',
      '-o', 'UserKnownHostsFile=/tmp/known_hosts',
    ]);
  });

  it('the master connection ends option parsing before the host', () => {
    const args = masterArgs(minimal, '/tmp/sw/c1', 'bash -c agent');
    expect(args.slice(-7)).toEqual(['-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '--', 'web1', 'bash -c agent']);
  });

  it('a master kept for the next command (ssh.reuse_seconds) is shared through ControlMaster=auto, and named by who, where and a hash of every option', () => {
    const args = masterArgs(minimal, '/tmp/slipway-ssh-0/x', 'bash -c agent', 60);
    expect(args.slice(-7)).toEqual(['-o', 'ControlMaster=auto', '-o', 'ControlPersist=60', '--', 'web1', 'bash -c agent']);
    expect(controlName(full)).toMatch(/^deploy@10\.0\.0\.5:2222\.[0-9a-f]{12}$/);
    expect(controlName(minimal)).toMatch(/^@web1:22\.[0-9a-f]{12}$/);
    // Another key or known_hosts file: another connection.
    expect(controlName({ ...full, identityFile: '/other/key' })).not.toBe(controlName(full));
    expect(masterExitArgs(minimal, '/tmp/s').slice(-4)).toEqual(['-O', 'exit', '--', 'web1']);
  });

  it('git push rides on the master connection', () => {
    expect(gitSshCommand(full, '/tmp/sw/c1')).toBe(
      "ssh -T -o BatchMode=yes -o ControlPath=/tmp/sw/c1 -o StrictHostKeyChecking=accept-new -o ConnectTimeout=3 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -p 2222 -l deploy -i '/home/me/.ssh/id ed25519' -o IdentitiesOnly=yes -o UserKnownHostsFile=/tmp/known_hosts -o ControlMaster=no",
    );
  });
});

describe('a refused nginx site', () => {
  it('names the other enabled sites that claim default_server, not its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-sites-'));
    try {
      writeFileSync(`${dir}/shop.conf`, 'server {\n  listen 80 default_server;\n}\n');
      writeFileSync(`${dir}/default`, 'server {\n  listen 80 default_server;\n  listen [::]:80 default_server;\n}\n');
      writeFileSync(`${dir}/other`, 'server {\n  # listen 80 default_server;\n  listen 8080;\n}\n');
      const out = execFileSync('bash', ['-c', otherDefaultSites(`${dir}/shop.conf`).shell], { encoding: 'utf8' });
      expect(out).toBe(`other enabled nginx sites claim default_server: ${dir}/default (remove default_server from their listen lines, or disable them with rm; or set http.default_server: false)\n`);
      rmSync(`${dir}/default`);
      expect(execFileSync('bash', ['-c', otherDefaultSites(`${dir}/shop.conf`).shell], { encoding: 'utf8' })).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
