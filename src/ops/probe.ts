// The read-only probe that gathers a host's facts in one round trip. Its output format is parsed by
// plan/facts.ts; nothing here changes the host.
import type { Snippet } from './command.js';
import type { Layout } from '../plan/layout.js';
import { quote } from './shell.js';

export interface ProbeWants {
  /** `3.11` looks for python3.11, then pyenv's 3.11; unset looks for python3. */
  pythonVersion?: string | undefined;
  /** Packages whose installed state the plan needs (apt). */
  packages?: readonly string[];
  /** Files whose content hash the plan compares with what it would write (nginx site, certificates). */
  files?: readonly string[];
  /** The web process run in blue/green slots: report each slot's release and state. */
  slotProcess?: string | undefined;
}

function pythonProbe(version: string | undefined): string {
  if (!version) return `p=$(command -v python3 || true); if [ -n "$p" ]; then echo "python $p"; fi`;
  const name = quote(`python${version}`);
  const pyenv = `"\${PYENV_ROOT:-$HOME/.pyenv}"/versions/${quote(version)}*/bin/${name}`;
  return `p=$(command -v ${name} || ls -d ${pyenv} 2>/dev/null | tail -n 1 || true); if [ -n "$p" ]; then echo "python $p"; fi`;
}

export function factsProbe(layout: Layout, sha: string | undefined, wants: ProbeWants = {}): Snippet {
  const root = quote(layout.root);
  // Host-wide facts first: on a host that never saw this app, the root is missing and the probe stops there.
  const packages = wants.packages ?? [];
  const lines = [
    'echo "cores $(nproc 2>/dev/null || echo 1)"',
    pythonProbe(wants.pythonVersion),
    ...(packages.length > 0
      ? [`dpkg-query -W -f=${quote('${Package} ${db:Status-Abbrev}\n')} ${packages.map(quote).join(' ')} 2>/dev/null | while read -r name state; do if [ "$state" = ii ]; then echo "package $name"; fi; done`]
      : []),
    // The path goes through quote like every other value (printf, not inside echo's double quotes).
    ...(wants.files ?? []).map((f) => `if [ -f ${quote(f)} ]; then printf 'file %s %s\\n' ${quote(f)} "$(sha256sum < ${quote(f)} | cut -d' ' -f1)"; fi`),
    ...(wants.slotProcess
      ? [
          `for s in blue green; do t=$(readlink ${quote(layout.slots)}/$s 2>/dev/null || true); ` +
            `echo "slot $s $(basename "\${t:--}") $(systemctl is-active ${quote(`${layout.unitPrefix}-${wants.slotProcess}@`)}$s.service 2>/dev/null || true)"; done`,
          `if [ -f ${quote(layout.liveSlotFile)} ]; then echo "live $(cat ${quote(layout.liveSlotFile)})"; fi`,
        ]
      : []),
    `if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then echo "flag systemd"; fi`,
    `if id -u ${quote(layout.appUser)} >/dev/null 2>&1; then echo "flag app-user"; fi`,
    `for f in /etc/systemd/system/${quote(layout.unitPrefix)}-*.service /etc/systemd/system/${quote(layout.unitPrefix)}.target; do ` +
      `[ -f "$f" ] && echo "unit $(basename "$f") $(sha256sum < "$f" | cut -d' ' -f1)"; done`,
    `cd ${root} 2>/dev/null || exit 0`,
    `if [ -L current ]; then echo "current $(readlink current)"; fi`,
    `for d in releases/*/; do [ -d "$d" ] || continue; id=$(basename "$d"); ` +
      `echo "release $id $(cat .slipway/releases/$id/status 2>/dev/null || echo unknown)"; ` +
      `if [ -f .slipway/releases/$id/manifest.json ]; then echo "manifest $id $(tr -d '\\n' < .slipway/releases/$id/manifest.json)"; fi; done`,
    `if [ -d .slipway/repo.git ]; then echo "flag repo"; fi`,
    // The last operation, so one the host had to finish alone is reported by the next command.
    `if [ -s .slipway/history.jsonl ]; then printf 'last-operation %s\\n' "$(tail -n 1 .slipway/history.jsonl | head -c 65536)"; fi`,
    `if [ -f .slipway/singletons ]; then sed 's/^/singleton /' .slipway/singletons; fi`,
    `for v in venvs/*/; do if [ -f "$v${'.slipway-complete'}" ]; then echo "venv $(basename "$v")"; fi; done`,
  ];
  if (sha) lines.push(`if git --git-dir=.slipway/repo.git cat-file -e ${quote(`${sha}^{commit}`)} 2>/dev/null; then echo "flag commit"; fi`);
  lines.push('true');
  return { shell: lines.join('\n') };
}
