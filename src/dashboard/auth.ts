// Who may use the dashboard: the holder of the token it printed at start, or someone who knows its password.
// Either gets a session cookie (HttpOnly, SameSite=Strict) and a per-session token every form carries back; a
// state-changing request must also come from the dashboard's own origin.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  csrf: string;
}

export const SESSION_COOKIE = 'slipway_dashboard';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compared as digests: the same length whatever was given, so the time taken says nothing about the secret. */
export function secretMatches(given: string | undefined, secret: string | undefined): boolean {
  if (given === undefined || secret === undefined || secret === '') return false;
  return timingSafeEqual(digest(given), digest(secret));
}

export const newSecret = () => randomBytes(24).toString('base64url');

/** A session unused this long is gone: a laptop left open overnight needs the link (or the password) again. */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;

export class Sessions {
  private readonly byId = new Map<string, Session & { seen: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  create(user: string): Session {
    const session = { id: newSecret(), user, csrf: newSecret(), seen: this.now() };
    this.byId.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    const session = id === undefined ? undefined : this.byId.get(id);
    if (!session) return undefined;
    if (this.now() - session.seen > SESSION_IDLE_MS) {
      this.byId.delete(session.id);
      return undefined;
    }
    session.seen = this.now();
    return session;
  }

  end(id: string): void {
    this.byId.delete(id);
  }
}

/**
 * Whether a request's headers say it comes from a page of the dashboard itself. Browsers send Origin with
 * every POST (and Sec-Fetch-Site): a form on another site that posts here names that site, and is refused.
 */
export function sameOrigin(headers: { origin?: string | undefined; secFetchSite?: string | undefined; host?: string | undefined }): boolean {
  if (headers.secFetchSite !== undefined && headers.secFetchSite !== 'same-origin' && headers.secFetchSite !== 'none') return false;
  if (headers.origin === undefined) return headers.secFetchSite !== undefined;
  try {
    return new URL(headers.origin).host === headers.host;
  } catch {
    return false;
  }
}

/** An address only this machine can reach. */
export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);

/**
 * Host names a browser may use for a dashboard on a loopback address. Any other Host header is a page elsewhere
 * that pointed its own name at 127.0.0.1 (DNS rebinding), and is refused. `undefined`: any (listening on a
 * network address, whose names the dashboard cannot know; the token still guards it).
 */
export function allowedHosts(listenHost: string, port: number): Set<string> | undefined {
  if (!isLoopback(listenHost)) return undefined;
  return new Set([`${listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}
