// Names that reach a shell command or a path are held to strict patterns, checked before anything runs.
import { createHash } from 'node:crypto';

export const PROJECT_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const ENV_NAME = /^[a-z][a-z0-9_-]{0,30}$/;
/** Git refs as users type them: branches, tags, SHAs. No leading dash (option injection), no `..`, no spaces. */
export const GIT_REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]{1,200}$/;
export const PROCESS_NAME = /^[a-z][a-z0-9-]{0,30}$/;
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Host names and IPv4/IPv6 literals; `local` means this machine. */
export const HOST = /^(local|[A-Za-z0-9]([A-Za-z0-9._-]{0,252})|\[?[0-9a-fA-F:]+\]?)$/;
/** An IPv4 address (dotted quad) or an IPv6 address (hex groups and colons, no zone, no brackets). */
export const IP_ADDRESS = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|(?=[0-9a-fA-F:]*:)[0-9a-fA-F:]{2,39})$/;
/** A DNS name (letters, digits, dashes, dots); no wildcards, no ports. */
export const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*$/;
/** Paths inside a release (shared dirs and files): relative, no `..`. */
export const RELATIVE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/;
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9.+-]*$/;
/** The path (and query) of an HTTP URL: a leading /, then only characters a URL carries unencoded. */
export const HTTP_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,1000}$/;
/** An e-mail address as certbot and Django take it on their command lines: no spaces, no leading -. */
export const EMAIL = /^(?!-)[^\s@\x00-\x1f\x7f]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export function isFullSha(ref: string): boolean {
  return /^[0-9a-f]{40}$/.test(ref);
}

/** A branch name as a directory name for per-branch deploys: `feature/Login_x` → `feature-login-x`. */
/**
 * A branch name as a directory name for per-branch deploys. A name that had to change (`feature/Login_x`) gets
 * a short hash of the original (`feature-login-x-3f2a1c`), so `feature/a` and `feature-a` never share a directory.
 */
export function branchSlug(branch: string): string {
  const slug = branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50) || 'branch';
  if (slug === branch) return slug;
  return `${slug}-${createHash('sha256').update(branch).digest('hex').slice(0, 6)}`;
}
