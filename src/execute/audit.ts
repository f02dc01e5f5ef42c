// `slipway audit`: the release's dependencies, read from the commit on this machine, checked against the
// databases this machine can reach: npm's lockfile through the registry's audit, Python requirements through
// pip-audit when it is installed here. Whatever cannot be checked is reported as such, with the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/types.js';
import { parseNpmAudit, parsePipAudit, type AuditPart } from '../plan/audit.js';
import { resolveProfile } from '../recipes/index.js';
import { runLocal, type LocalResult } from './deployer.js';
import { fromLocal } from './repo-files.js';
import { resolveSource } from './source.js';

/** A program of this machine's: runLocal, and whether the program is not installed at all (spawn's ENOENT). */
async function runHere(program: string, args: string[], cwd: string, timeoutMs: number): Promise<LocalResult & { missing: boolean }> {
  const result = await runLocal({ argv: [program, ...args], cwd }, {}, timeoutMs);
  return { ...result, missing: result.code === 127 && result.stderr.includes('ENOENT') };
}

const notChecked = (what: string, note: string): AuditPart => ({ what, checked: false, findings: [], note });

export async function auditRelease(loaded: Pick<LoadedConfig, 'config' | 'dir'>, ref: string | undefined): Promise<AuditPart[]> {
  const { config } = loaded;
  const wanted = ref ?? config.project.branch;
  const resolved = await resolveSource(config, loaded.dir, wanted).catch((err: Error) => err);
  if (resolved instanceof Error) return [notChecked('the release', resolved.message)];
  if (resolved.source.mode !== 'push') return [notChecked('the release', 'the repository is not on this machine (the servers fetch it): audit reads the lockfile and requirements from a local checkout')];
  const gitDir = resolved.source.gitDir;
  const files = await fromLocal(gitDir, resolved.sha, config.dependencies.requirements_files ?? []);
  const profile = resolveProfile({ config, files, cores: 1 });
  const at = `at ${resolved.ref} (${resolved.sha.slice(0, 7)})`;
  const parts: AuditPart[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'slipway-audit-'));
  try {
    if (profile.node) {
      const { lockfile, packageManager } = profile.node;
      if (packageManager !== 'npm') parts.push(notChecked(`${lockfile} ${at}`, `npm's audit reads package-lock.json; this app's dependencies are locked by ${packageManager}`));
      else {
        for (const path of ['package.json', lockfile]) await writeFile(join(scratch, path), files.read(path) ?? '');
        const audit = await runHere('npm', ['audit', '--package-lock-only', '--json', ...(config.node.production ? ['--omit=dev'] : [])], scratch, 120_000);
        parts.push(audit.missing ? notChecked(`${lockfile} ${at}`, 'npm is not installed on this machine') : parseNpmAudit(`${lockfile} ${at}`, audit.stdout));
      }
    }
    if (profile.python) {
      for (const path of profile.requirementsFiles.filter((p) => files.read(p) !== undefined)) {
        const copy = join(scratch, path.replaceAll('/', '_'));
        await writeFile(copy, files.read(path)!);
        const audit = await runHere('pip-audit', ['-r', copy, '-f', 'json', '--progress-spinner', 'off'], scratch, 300_000);
        if (audit.missing) parts.push(notChecked(`${path} ${at}`, 'pip-audit is not installed on this machine (pip install pip-audit, where PyPI and its advisory data are reachable)'));
        else if (audit.code !== 0 && audit.stdout.trim() === '') parts.push(notChecked(`${path} ${at}`, `pip-audit failed: ${audit.stderr.trim().split('\n').pop() ?? `exit ${audit.code}`}`));
        else parts.push(parsePipAudit(`${path} ${at}`, audit.stdout));
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (parts.length === 0) parts.push(notChecked(`the release ${at}`, 'it has no package-lock.json or requirements file to audit'));
  parts.push({ ...notChecked('system packages on the servers', 'not audited by slipway: their security updates come from the distribution (setup.unattended_upgrades installs them daily); debsecan on a Debian server lists what is still open'), outOfScope: true });
  return parts;
}
