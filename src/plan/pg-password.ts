// Whether a PostgreSQL role's stored verifier (pg_authid.rolpassword) matches a password, computed here: setup
// can then report the role `ok` instead of resetting its password on every run, and the password never has to
// be sent to the server to find out.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

export function passwordMatches(verifier: string, user: string, password: string): boolean {
  // md5 (older servers): 'md5' + md5(password + user).
  if (/^md5[0-9a-f]{32}$/.test(verifier)) return verifier === `md5${createHash('md5').update(password + user).digest('hex')}`;
  // RFC 5803: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
  const scram = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
  if (!scram) return false;
  const [, iterations, salt, storedKey, serverKey] = scram;
  // PostgreSQL normalizes passwords with SASLprep; NFKC is its core and leaves ASCII unchanged. A password
  // that normalizes differently only makes setup set it again.
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), Buffer.from(salt!, 'base64'), Number(iterations), 32, 'sha256');
  const stored = createHash('sha256').update(hmac(salted, 'Client Key')).digest('base64');
  return stored === storedKey && hmac(salted, 'Server Key').toString('base64') === serverKey;
}
