// The files slipway writes into an image tree: apt settings for the build, and the changes that make a Debian
// tree boot as a quick, anonymous sandbox server (hostname, machine id and keys all come from the boot).
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOST_ACCESS_DIR, HOST_CA_SCRIPT, HOST_CA_UNIT, hostAccessFiles, hostAccessLinks, hostCaScript, hostCaUnit } from './host-access.js';
import { RECIPE_VERSION, sourcesList, type ImageRecipe } from './recipe.js';

export const imageInfoFile = (dir: string): string => join(dir, 'etc', 'slipway-image.json');

/**
 * The image build alone: no suggested packages (Debian's default too). Recommended packages follow apt's own
 * default, as on a stock server, so a server installs what a real one would (python3-django's jQuery for the admin).
 */
const buildAptConf = 'APT::Install-Suggests "false";\n';

const sshdConf = `# slipway sandbox: one host key, bind-mounted at boot from the host's sandbox state; root logs in by key only.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
`;

const hosts = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n';

/** Before apt runs inside the tree: the mirror (only here, at build time) and no service starts in the build. */
export async function writeBuildFiles(dir: string, recipe: ImageRecipe, mirror: string): Promise<void> {
  await writeFile(join(dir, 'etc/apt/sources.list'), sourcesList(recipe, mirror));
  await writeFile(join(dir, 'etc/apt/apt.conf.d/90slipway-sandbox'), buildAptConf);
  await writeFile(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\n# slipway image build: start no service\nexit 101\n');
  await chmod(join(dir, 'usr/sbin/policy-rc.d'), 0o755);
}

export async function removeBuildFiles(dir: string): Promise<void> {
  await rm(join(dir, 'usr/sbin/policy-rc.d'), { force: true });
  await rm(join(dir, 'etc/apt/apt.conf.d/90slipway-sandbox'), { force: true });
}

export async function configureTree(dir: string, recipe: ImageRecipe, key: string): Promise<void> {
  // No /etc/hostname: systemd keeps the hostname nspawn sets from --machine, so each server is named after itself.
  await rm(join(dir, 'etc/hostname'), { force: true });
  await writeFile(join(dir, 'etc/hosts'), hosts);
  // debootstrap generated one machine id; an empty file makes every boot get its own.
  await writeFile(join(dir, 'etc/machine-id'), '');
  await rm(join(dir, 'var/lib/dbus/machine-id'), { force: true });
  await mkdir(join(dir, 'var/lib/dbus'), { recursive: true });
  await symlink('/etc/machine-id', join(dir, 'var/lib/dbus/machine-id'));

  // The host keys openssh-server generated in the build would be the same in every image build on every
  // machine's cache; the real one is bind-mounted at boot. The empty files are the mount points.
  for (const type of ['rsa', 'ecdsa', 'ed25519']) {
    await rm(join(dir, `etc/ssh/ssh_host_${type}_key`), { force: true });
    await rm(join(dir, `etc/ssh/ssh_host_${type}_key.pub`), { force: true });
  }
  await writeFile(join(dir, 'etc/ssh/ssh_host_ed25519_key'), '', { mode: 0o600 });
  await writeFile(join(dir, 'etc/ssh/ssh_host_ed25519_key.pub'), '');
  await writeFile(join(dir, 'etc/ssh/sshd_config.d/slipway-sandbox.conf'), sshdConf);
  await mkdir(join(dir, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await chmod(join(dir, 'root/.ssh'), 0o700);
  await writeFile(join(dir, 'root/.ssh/authorized_keys'), '', { mode: 0o600 });

  await writeHostAccessLinks(dir);

  for (const unit of recipe.masked) {
    const link = join(dir, 'etc/systemd/system', unit);
    await rm(link, { force: true });
    await symlink('/dev/null', link);
  }
  const info = { name: recipe.name, key, recipeVersion: RECIPE_VERSION, builtAt: new Date().toISOString() };
  await writeFile(imageInfoFile(dir), `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * The links from where apt, pip and npm read their settings to the host-access directory a boot bind-mounts
 * (host-access.ts), its offline contents as the default for a boot without it, and the unit that adds the host's
 * own certificate authorities at boot.
 */
async function writeHostAccessLinks(dir: string): Promise<void> {
  await mkdir(join(dir, HOST_ACCESS_DIR.slice(1), 'ca'), { recursive: true });
  for (const file of hostAccessFiles(undefined)) await writeFile(join(dir, HOST_ACCESS_DIR.slice(1), file.name), file.text);
  for (const link of hostAccessLinks) {
    await mkdir(join(dir, link.path.slice(1), '..'), { recursive: true });
    await rm(join(dir, link.path.slice(1)), { force: true });
    await symlink(link.target, join(dir, link.path.slice(1)));
  }
  await writeFile(join(dir, HOST_CA_SCRIPT.slice(1)), hostCaScript, { mode: 0o755 });
  await writeFile(join(dir, 'etc/systemd/system', HOST_CA_UNIT), hostCaUnit);
  await mkdir(join(dir, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await symlink(`/etc/systemd/system/${HOST_CA_UNIT}`, join(dir, 'etc/systemd/system/multi-user.target.wants', HOST_CA_UNIT));
}
