// Checked forms for path- and URL-like values: normalized where a path can be written several ways, refused
// where it would leave the directory it must stay in, and never able to reach git, ssh or pip as an option.
import type { Form } from './schema-dsl.js';

const CONTROL = /[\x00-\x1f\x7f]/;
const SPACE_OR_CONTROL = /[\s\x00-\x1f\x7f]/;
const OPTION = 'starts with -, which a command would read as an option';

/** `a//b/./c/` and `a/b/c` are one path; the pattern has already refused `..` and a leading `/`. */
const segments = (path: string) => path.split('/').filter((s) => s !== '' && s !== '.');

/** A path inside a directory slipway manages (the release, or shared/). */
export function inside(where: string, example: string): Form {
  return (value) => {
    const parts = segments(value);
    if (parts.length === 0) return { refused: `names ${where} itself: give a path inside it, e.g. ${example}` };
    if (parts.includes('..')) return { refused: `leaves ${where} (..): give a path inside it, e.g. ${example}` };
    if (parts[0]?.startsWith('-')) return { refused: `${OPTION}: rename it` };
    return { value: parts.join('/') };
  };
}

/** An absolute path on the server; `..` is refused rather than resolved, since it is a mistake more often than not. */
export const absolutePath: Form = (value) => {
  const parts = segments(value);
  if (parts.includes('..')) return { refused: 'has a .. segment: write the directory it means' };
  return { value: `/${parts.join('/')}` };
};

/** A path on the deployer (a key or known_hosts file): anything a file name may be, except an option. */
export const localFile: Form = (value) => {
  if (CONTROL.test(value)) return { refused: 'has control characters: write the file\'s path' };
  if (value.startsWith('-')) return { refused: `${OPTION}: write ./${value}` };
  return { value };
};

/** A pip requirement such as `django>=4.2`: options would change where pip installs from. */
export const requirement: Form = (value) => {
  if (CONTROL.test(value)) return { refused: 'has control characters' };
  if (value.trimStart().startsWith('-')) return { refused: `${OPTION}: give pip options under pip: (index_url, find_links, ...)` };
  return { value };
};

const AUTHORITY = /^(?:([^@/\s]+)@)?([A-Za-z0-9][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Why `value` is not a URL of one of `schemes` (lowercase), or undefined when it is one. */
export function urlProblem(value: string, schemes: readonly string[]): string | undefined {
  const written = schemes.map((s) => `${s}://`).join(', ');
  if (SPACE_OR_CONTROL.test(value)) return 'has spaces or control characters: a URL has none (percent-encode them)';
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(value);
  if (!match) return `is not a URL (${written})`;
  const [, scheme = '', authority = '', rest = ''] = match;
  if (!schemes.includes(scheme.toLowerCase())) return `uses ${scheme}://: use ${written}`;
  if (scheme.toLowerCase() === 'file') return authority === '' && rest.startsWith('/') ? undefined : 'is not a file URL of an absolute path (file:///srv/...)';
  const parts = AUTHORITY.exec(authority);
  if (!parts || parts[1]?.startsWith('-')) return 'does not name a host as [user@]host[:port] (neither may start with -)';
  return undefined;
}

export const url = (schemes: readonly string[]): Form => (value) => {
  const problem = urlProblem(value, schemes);
  return problem ? { refused: problem } : { value };
};

/** pip's --find-links: a URL, an absolute directory, or one inside the release. */
export const findLinks: Form = (value) => {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return url(['https', 'http', 'file'])(value);
  if (SPACE_OR_CONTROL.test(value)) return { refused: 'has spaces or control characters' };
  return value.startsWith('/') ? absolutePath(value) : inside('the release', 'wheels')(value);
};

// What project.repo may be: the transports slipway fetches with (ssh, https, a file URL), git's scp-like
// `user@host:path`, or a local path it pushes from. Plain http:// and git:// are refused: they fetch the code
// that will run on the servers unauthenticated and unencrypted.
const REPO_SCHEMES = ['ssh', 'git+ssh', 'ssh+git', 'https', 'file'];

/** Why `repo` cannot be deployed from, or undefined; also checks a --repo given on the command line. */
export function repoProblem(repo: string): string | undefined {
  if (repo === '') return 'is empty: give a URL or a local path';
  if (CONTROL.test(repo)) return 'has control characters';
  if (repo.startsWith('-')) return `${OPTION}: write ./${repo} for a directory of that name`;
  // `ext::sh -c ...` and the like run a program of the URL's choosing.
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(repo)) return 'uses a git remote helper (transport::address), which runs a program: use ssh://, https://, user@host:path or a local path';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(repo)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'git') return `uses ${scheme}://, which fetches code unauthenticated and unencrypted: use https:// or ssh://`;
  if (scheme !== undefined) return urlProblem(repo, REPO_SCHEMES);
  // The same test as the deployer's: `user@host:` before any slash is git's scp-like form.
  const scp = /^([^/\s]+)@([^/\s]+?):(.*)$/.exec(repo);
  if (!scp) return undefined;
  const [, user = '', host = '', path = ''] = scp;
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user) || !AUTHORITY.test(host) || host.includes('@')) return 'is not user@host:path (a user and host name, neither starting with -)';
  if (path === '' || SPACE_OR_CONTROL.test(path)) return 'has no path after host: (or one with spaces)';
  return undefined;
}

export const repository: Form = (value) => {
  const problem = repoProblem(value);
  return problem ? { refused: problem } : { value };
};
