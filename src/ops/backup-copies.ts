// Builders for off-server copies of the dumps: what setup reads and writes on a copy server and on the database
// server, and the copies' listing as root sees it there (with checksums recomputed on request).
import { cmd, unless, type Cmd, type Snippet } from './command.js';
import { installConfigFile, type ConfigFile } from './config-file.js';
import { quote } from './shell.js';
import { fileHashes } from './setup-probe.js';
import { copyAccount, copyConfigDir } from '../render/backup-copies.js';

/** The backup account's home: root's, so the account cannot change its own authorized_keys. */
export const accountHome = (prefix: string) => `/var/lib/slipway/backup-accounts/${copyAccount(prefix)}`;
export const accountKeys = (prefix: string) => `${accountHome(prefix)}/.ssh/authorized_keys`;


/** `hostkey TYPE KEY` for each of the server's SSH host keys, for the known_hosts of the servers that reach it. */
export const HOST_KEYS_PROBE = 'for f in /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub; do if [ -f "$f" ]; then echo "hostkey $(cut -d" " -f1,2 "$f")"; fi; done';

/** A copy server's state: the account, the copies' directory, the files slipway writes, the timer, the host keys. */
export function copyServerProbe(prefix: string, dir: string, files: readonly string[], timer: string): Snippet {
  return {
    shell: [
      `if id -u ${quote(copyAccount(prefix))} >/dev/null 2>&1; then echo account; fi`,
      `if [ -d ${quote(dir)} ]; then echo "dir $(stat -c '%a %U' ${quote(dir)})"; fi`,
      ...fileHashes(files),
      `if systemctl is-enabled --quiet ${quote(timer)} 2>/dev/null; then echo timer; fi`,
      HOST_KEYS_PROBE,
    ].join('\n'),
  };
}

/** The database server's side: its public key (made by setup) and the files slipway writes. */
export function copyClientProbe(prefix: string, files: readonly string[]): Snippet {
  return { shell: [publicKeyProbe(copyConfigDir(prefix)), ...fileHashes(files)].join('\n') };
}

/**
 * An ed25519 key made where it is used (the private half never leaves the server), owned by the user that uses
 * it (root unless `owner` is given); `pubkey` and then its public half are printed.
 */
export function ensureKey(dir: string, comment: string, owner?: string): Cmd[] {
  const key = `${dir}/id_ed25519`;
  const keygen = ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key];
  return [
    cmd('install', '-d', '-m', '700', ...(owner ? ['-o', owner, '-g', owner] : []), dir),
    unless({ argv: ['test', '-f', key], quiet: true }, owner ? cmd('runuser', '-u', owner, '--', ...keygen) : cmd(...keygen)),
    cmd('echo', 'pubkey'),
    cmd('cat', `${key}.pub`),
  ];
}

/** `pubkey KEY` when the key in `dir` exists. */
export const publicKeyProbe = (dir: string) => `if [ -f ${quote(`${dir}/id_ed25519.pub`)} ]; then echo "pubkey $(cat ${quote(`${dir}/id_ed25519.pub`)})"; fi`;

/**
 * The account: a system user with no password, a shell only to run the forced command, a home owned by root.
 * Its directory is its own (mode 700): only it and root read the copies.
 */
export function ensureCopyAccount(prefix: string, dir: string, receiver: ConfigFile, keys: ConfigFile): Cmd[] {
  const account = copyAccount(prefix);
  const home = accountHome(prefix);
  return [
    unless({ argv: ['id', '-u', account], quiet: true }, cmd('useradd', '--system', '--user-group', '--home-dir', home, '--no-create-home', '--shell', '/bin/sh', account)),
    // `*`: no password can match, and sshd (unlike with `!`) still lets the key in.
    cmd('usermod', '-p', '*', account),
    cmd('install', '-d', '-m', '755', '-o', 'root', '-g', 'root', home, `${home}/.ssh`),
    cmd('install', '-d', '-m', '700', '-o', account, '-g', account, dir),
    ...installConfigFile(receiver),
    ...installConfigFile(keys),
  ];
}

export function installTimer(files: readonly ConfigFile[], timer: string): Cmd[] {
  return [...files.flatMap((f) => installConfigFile(f)), cmd('systemctl', 'daemon-reload'), cmd('systemctl', 'enable', '--now', '--quiet', timer)];
}

/** The known_hosts of the copies, then the script and its unit; running it sends the dumps already there. */
export function installCopyClient(files: readonly ConfigFile[], script: string): Cmd[] {
  return [...files.flatMap((f) => installConfigFile(f)), cmd('systemctl', 'daemon-reload'), cmd(script)];
}

/**
 * The copies in a directory, as root on the copy server: `copy SIZE MTIME RECORDED-SUM NAME`, with `check
 * ACTUAL-SUM NAME` after each when the checksums are to be recomputed, and the live release.
 */
export function listCopies(dir: string, check: boolean): Snippet {
  const d = quote(dir);
  return {
    shell: [
      `for f in ${d}/*.dump; do`,
      '  [ -f "$f" ] || continue',
      '  sum=$(cut -d" " -f1 "$f.sha256" 2>/dev/null || true)',
      '  echo "copy $(stat -c "%s %Y" "$f") ${sum:--} ${f##*/}"',
      ...(check ? ['  echo "check $(sha256sum < "$f" | cut -d" " -f1) ${f##*/}"'] : []),
      'done',
      `if [ -f ${d}/live ]; then echo "live $(cat ${d}/live)"; fi`,
    ].join('\n'),
  };
}
