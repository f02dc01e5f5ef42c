// The read-only probe that gathers a host's facts in one round trip. Its output format is parsed by
// plan/facts.ts; nothing here changes the host.
import type { Snippet } from './command.js';
import type { Layout } from '../plan/layout.js';
import { quote } from './shell.js';
import { COMPLETE_MARK } from './files.js';
import { managerOf, otherManager } from './managers.js';

export interface ProbeWants {
  /** `3.11` looks for python3.11, then pyenv's 3.11; unset looks for python3. */
  pythonVersion?: string | undefined;
  /** Packages whose installed state the plan needs (apt). */
  packages?: readonly string[];
  /** Files whose content hash the plan compares with what it would write (nginx site, certificates). */
  files?: readonly string[];
  /** The web process run in blue/green slots: report each slot's release and state. */
  slotProcess?: string | undefined;
  /** A Node app: the server's own Node version and the machine type (for a copy of the deployer's Node). */
  node?: boolean;
}

/** The server's own Node (`node-system v18.19.0`) and machine type (`machine x86_64`): which Node a release gets. */
export const NODE_PROBE = ['if command -v node >/dev/null 2>&1; then echo "node-system $(node --version 2>/dev/null)"; fi', 'echo "machine $(uname -m)"'];

function pythonProbe(version: string | undefined): string {
  if (!version) return `p=$(command -v python3 || true); if [ -n "$p" ]; then echo "python $p"; fi`;
  const name = quote(`python${version}`);
  const pyenv = `"\${PYENV_ROOT:-$HOME/.pyenv}"/versions/${quote(version)}*/bin/${name}`;
  return `p=$(command -v ${name} || ls -d ${pyenv} 2>/dev/null | tail -n 1 || true); if [ -n "$p" ]; then echo "python $p"; fi`;
}

/**
 * `<kind> <name> <sha256>` for each of `paths` that is a file, from one sha256sum. `globbed`: the paths are
 * patterns (unquoted), and a line names the file's base name, not its path.
 */
function hashLines(kind: string, paths: readonly string[], globbed: boolean, key?: string): string[] {
  if (paths.length === 0) return [];
  const name = key ? `${key}; ` : '';
  const named = key ? '$n' : globbed ? '${p##*/}' : '$p';
  return [
    `slipway_hashed=(); for f in ${paths.join(' ')}; do [ -f "$f" ] && slipway_hashed+=("$f"); done`,
    `if [ \${#slipway_hashed[@]} -gt 0 ]; then sha256sum "\${slipway_hashed[@]}" | while read -r h p; do ${name}printf '${kind} %s %s\\n' "${named}" "$h"; done; fi`,
  ];
}

/** `<kind> NAME` for each directory under `parent` that was finished (venvs, node_modules, Node versions). */
const completeDirs = (kind: string, parent: string) =>
  `for v in ${parent}/*/; do if [ -f "$v${COMPLETE_MARK}" ]; then v=\${v%/}; echo "${kind} \${v##*/}"; fi; done`;

export function factsProbe(layout: Layout, sha: string | undefined, wants: ProbeWants = {}): Snippet {
  const root = quote(layout.root);
  const manager = managerOf(layout);
  const systemd = managerOf(layout, 'systemd');
  const other = managerOf(layout, otherManager(manager.kind));
  // Host-wide facts first: on a host that never saw this app, the root is missing and the probe stops there.
  const packages = wants.packages ?? [];
  const lines = [
    'echo "cores $(nproc 2>/dev/null || echo 1)"',
    pythonProbe(wants.pythonVersion),
    ...(wants.node ? NODE_PROBE : []),
    ...(packages.length > 0
      ? [`dpkg-query -W -f=${quote('${Package} ${db:Status-Abbrev}\n')} ${packages.map(quote).join(' ')} 2>/dev/null | while read -r name state; do if [ "$state" = ii ]; then echo "package $name"; fi; done`]
      : []),
    // One sha256sum for every file that exists (a process each cost the probe 5 ms on a small server); each
    // path goes through quote like every other value.
    ...hashLines('file', (wants.files ?? []).map(quote), false),
    ...(wants.slotProcess
      ? [
          // The other manager's slots too, where it may run them: a deploy that moves the app to this manager
          // starts the new slot beside the one the other still runs (plan/manager-change.ts), and the next deploy
          // stops the other's draining slot if it needs that slot (plan/web.ts).
          `if ${other.slotsMayRun(wants.slotProcess)}; then ${other.slotStatesProbe(wants.slotProcess)}; ` +
            `{ read -r slipway_blue; read -r slipway_green; } <<< "$slipway_states" || true; echo "other-slot blue $slipway_blue"; echo "other-slot green $slipway_green"; fi`,
          manager.slotStatesProbe(wants.slotProcess),
          `slipway_blue= slipway_green=; { read -r slipway_blue; read -r slipway_green; } <<< "$slipway_states" || true`,
          `for s in blue green; do t=$(readlink ${quote(layout.slots)}/$s 2>/dev/null || true); t=\${t:--}; st=slipway_$s; ` +
            `echo "slot $s \${t##*/} \${!st}"; done`,
          `if [ -f ${quote(layout.liveSlotFile)} ]; then read -r slipway_live < ${quote(layout.liveSlotFile)} || true; echo "live $slipway_live"; fi`,
        ]
      : []),
    systemd.presenceProbe,
    ...(manager.kind === 'systemd' ? [] : [manager.presenceProbe]),
    `if id -u ${quote(layout.appUser)} >/dev/null 2>&1; then echo "flag app-user"; fi`,
    // systemd's files always: the monitor's and the backups' timers are systemd's under either manager.
    ...hashLines('unit', systemd.installedFiles.globs, true, systemd.installedFiles.key),
    ...(manager.kind === 'systemd' ? [] : hashLines('unit', manager.installedFiles.globs, true, manager.installedFiles.key)),
    `cd ${root} 2>/dev/null || exit 0`,
    `if [ -L current ]; then echo "current $(readlink current)"; fi`,
    // Builtins only, per release (read, mapfile): a host keeping ten releases paid two processes for each.
    // Each release's commit is gathered too (a regex, no process): the pack a deploy sends leaves out what they have.
    `slipway_shas=(); slipway_sha_re='"sha": *"([0-9a-f]{40})"'`,
    `for d in releases/*/; do [ -d "$d" ] || continue; id=\${d%/}; id=\${id##*/}; st=unknown; ` +
      `[ -f .slipway/releases/$id/status ] && { read -r st < .slipway/releases/$id/status || true; }; echo "release $id $st"; ` +
      `if [ -f .slipway/releases/$id/manifest.json ]; then mapfile -t m < .slipway/releases/$id/manifest.json; IFS=; echo "manifest $id \${m[*]}"; ` +
      `[[ \${m[*]} =~ $slipway_sha_re ]] && slipway_shas+=("\${BASH_REMATCH[1]}"); unset IFS; fi; done`,
    `if [ -d .slipway/repo.git ]; then echo "flag repo"; fi`,
    // The last operation, so one the host had to finish alone is reported by the next command.
    `if [ -s .slipway/history.jsonl ]; then printf 'last-operation %s\\n' "$(tail -n 1 .slipway/history.jsonl | head -c 65536)"; fi`,
    `if [ -f .slipway/singletons ]; then sed 's/^/singleton /' .slipway/singletons; fi`,
    completeDirs('venv', 'venvs'),
    completeDirs('node-deps', 'node-deps'),
    completeDirs('node-runtime', 'node'),
  ];
  // `have SHA` for the commit to deploy and each release's that the cached repo holds, from one git; `flag commit`
  // when the first is there (nothing to send).
  if (sha) {
    lines.push(
      `if [ -d .slipway/repo.git ]; then printf '%s\\n' ${quote(sha)} "\${slipway_shas[@]}" | git --git-dir=.slipway/repo.git cat-file --batch-check='%(objectname) %(objecttype)' 2>/dev/null | ` +
        `while read -r s t; do [ "$t" = commit ] || continue; echo "have $s"; if [ "$s" = ${quote(sha)} ]; then echo "flag commit"; fi; done || true; fi`,
    );
  }
  lines.push('true');
  return { shell: lines.join('\n') };
}
