// What goes into a sandbox image, as data. The cache key is a hash of this data, so changing a package list or
// the build steps (bump RECIPE_VERSION) rebuilds the image, and nothing else does.
import { createHash } from 'node:crypto';
import { debianMirrorSource, ubuntuMirrorSource, type MirrorSource } from './mirror.js';

/** Bump when the build steps in image.ts change in a way the package lists do not show. */
export const RECIPE_VERSION = 3;

export interface ImageRecipe {
  name: string;
  distro: 'debian' | 'ubuntu';
  suite: string;
  /** apt components written into the image's sources.list. */
  components: string[];
  mirror: MirrorSource;
  /** Installed by debootstrap itself: enough to boot and to run apt inside the tree. */
  base: string[];
  /** Installed with apt-get inside the tree: the stack the scenarios deploy onto, there before any network is. */
  packages: string[];
  /** Only downloaded into the apt cache, so `apt-get install` of them works offline on a server. */
  offline: string[];
  /** Units that only slow a throwaway server's boot down or wake it up for nothing. */
  masked: string[];
}

const base = ['systemd', 'systemd-sysv', 'dbus', 'iproute2', 'openssh-server', 'python3', 'ca-certificates'];
const masked = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'systemd-pstore.service',
  'getty@tty1.service',
];

/** The stack the scenarios deploy onto, the same on every image. */
const stack = [
  'python3-venv', 'python3-pip', 'git', 'curl', 'sudo', 'nginx', 'postgresql', 'redis-server',
  'python3-django', 'gunicorn', 'python3-uvicorn', 'python3-fastapi', 'python3-psycopg2', 'python3-redis',
  'nodejs', 'logrotate', 'cron', 'openssl',
  // The hostname nspawn sets resolves without an /etc/hosts entry (sudo warns otherwise).
  'libnss-myhostname',
];

export const imageRecipes: Record<string, ImageRecipe> = {
  bookworm: {
    name: 'bookworm',
    distro: 'debian',
    suite: 'bookworm',
    components: ['main'],
    mirror: debianMirrorSource,
    base,
    packages: stack,
    // ufw, unattended-upgrades and pgbackrest (backups.pitr): what `slipway setup` installs beyond the deploy stack.
    offline: ['supervisor', 'certbot', 'python3-certbot-nginx', 'pebble', 'wrk', 'ufw', 'unattended-upgrades', 'pgbackrest'],
    masked,
  },
  // Selectable where Ubuntu's archive is reachable (SLIPWAY_UBUNTU_MIRROR or ubuntu.sources) and
  // ubuntu-keyring is installed; not built on our Debian machines, which reach only Debian's archive.
  jammy: {
    name: 'jammy',
    distro: 'ubuntu',
    suite: 'jammy',
    components: ['main', 'universe'],
    mirror: ubuntuMirrorSource,
    base,
    packages: stack,
    offline: ['supervisor', 'certbot', 'python3-certbot-nginx', 'wrk', 'ufw', 'unattended-upgrades', 'pgbackrest'],
    masked,
  },
};

/** A short, stable hash of everything that decides the image's contents (not the mirror it came from). */
export function imageKey(recipe: ImageRecipe, recipeVersion: number = RECIPE_VERSION): string {
  const identity = {
    recipeVersion,
    distro: recipe.distro,
    suite: recipe.suite,
    components: recipe.components,
    base: [...recipe.base].sort(),
    packages: [...recipe.packages].sort(),
    offline: [...recipe.offline].sort(),
    masked: [...recipe.masked].sort(),
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 12);
}

export const imageDirName = (recipe: ImageRecipe): string => `${recipe.name}-${imageKey(recipe)}`;

/** The image's apt sources: the mirror is written here at build time only, never into the repository. */
export function sourcesList(recipe: ImageRecipe, mirror: string): string {
  const components = recipe.components.join(' ');
  return `deb ${mirror} ${recipe.suite} ${components}\ndeb ${mirror} ${recipe.suite}-updates ${components}\n`;
}

export function debootstrapArgs(recipe: ImageRecipe, dir: string, mirror: string): string[] {
  return [
    'debootstrap',
    '--variant=minbase',
    `--components=${recipe.components.join(',')}`,
    `--include=${recipe.base.join(',')}`,
    recipe.suite,
    dir,
    mirror,
  ];
}

/** Runs a command inside the tree being built; nspawn (not chroot) mounts /proc and /dev and cleans them up. */
export function inTreeArgs(dir: string, script: string, hostSystemd = false): string[] {
  return [
    'systemd-nspawn',
    '--quiet',
    `--directory=${dir}`,
    '--register=no',
    ...(hostSystemd ? [] : ['--keep-unit']),
    '--resolv-conf=copy-host',
    '--pipe',
    '--setenv=DEBIAN_FRONTEND=noninteractive',
    'sh',
    '-euc',
    script,
  ];
}

/**
 * The apt work done inside the tree: install the stack, then leave only the offline extras in the cache. Both
 * with recommended packages, as `apt-get install` on a stock server does, so an offline install finds them too.
 */
export function aptScript(recipe: ImageRecipe): string {
  const quiet = 'apt-get -q -o Dpkg::Use-Pty=0';
  return [
    `${quiet} update`,
    `${quiet} install -y --install-recommends ${recipe.packages.join(' ')}`,
    // Byte-compile what the packages' own py3compile left out (python3-django's, inside nspawn): the app user
    // cannot write __pycache__ there, so every start of a Django app compiled Django again (0.15 s a
    // worker here), where a real server's postinst had compiled it once.
    'if command -v python3 >/dev/null; then python3 -m compileall -q /usr/lib/python3/dist-packages >/dev/null; fi',
    `${quiet} clean`,
    `${quiet} install -y --install-recommends --download-only ${recipe.offline.join(' ')}`,
  ].join('\n');
}
