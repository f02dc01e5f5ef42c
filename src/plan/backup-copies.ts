// Off-server copies of the dumps, planned (pure): each copy server as the database server reaches it, what
// setup does there and on the database server, and the copies' listing read back.
import type { Config } from '../config/types.js';
import { UserError } from '../errors.js';
import { accountKeys, ensureCopyAccount, ensureKey, installCopyClient, installTimer } from '../ops/backup-copies.js';
import type { ConfigFile } from '../ops/config-file.js';
import { sha256 } from '../ops/services.js';
import {
  authorizedKeyLine,
  copyAccount,
  copyConfigDir,
  copyKnownHosts,
  copyScriptPath,
  copyUnit,
  defaultCopyDir,
  expireScriptPath,
  expireTimer,
  expireUnit,
  knownHostName,
  receiverPath,
  renderCopyScript,
  renderCopyService,
  renderExpireScript,
  renderExpireService,
  renderExpireTimer,
  renderReceiver,
  bucketCurlConfig,
  type AnyDestination,
  type BucketDestination,
  type CopyDestination,
} from '../render/backup-copies.js';
import type { Layout } from './layout.js';
import type { SetupItem } from './setup.js';
import type { Target } from './target.js';

export type CopyEntry = Config['backups']['copy_to'][number];

/** A bucket, not a server: its s3 keys are given (the object itself is always there, with its defaults). */
export const isBucket = (entry: CopyEntry): boolean => entry.s3.endpoint !== undefined || entry.s3.bucket !== undefined;

/** The name a copy goes by in listings and `--from`. */
export const copyName = (entry: CopyEntry) => entry.name ?? entry.sandbox ?? entry.host ?? entry.s3.bucket ?? '?';

/** A copy server as the database server reaches it: the entry's address, else the address slipway reaches it by. */
export function destinationOf(entry: CopyEntry, target: Target, layout: Layout): CopyDestination {
  const address = entry.address ?? target.privateAddress ?? (target.kind === 'ssh' ? target.host : undefined);
  if (!address) throw new UserError(`backups.copy_to ${copyName(entry)}: no address the database server reaches it by`, 'give it `address`');
  return {
    kind: 'server',
    name: copyName(entry),
    account: copyAccount(layout.unitPrefix),
    address,
    port: entry.port ?? (target.kind === 'ssh' ? target.port : undefined) ?? 22,
    dir: entry.path ?? defaultCopyDir(layout.unitPrefix),
    retentionDays: entry.retention_days,
  };
}

/** A bucket as the database server reaches it: path-style, its key prefix `<project>/` unless given. */
export function bucketOf(entry: CopyEntry, layout: Layout): BucketDestination {
  const { s3 } = entry;
  const name = copyName(entry);
  return {
    kind: 'bucket',
    name,
    base: `${(s3.endpoint ?? '').replace(/\/+$/, '')}/${s3.bucket ?? ''}`,
    prefix: s3.prefix ?? `${layout.unitPrefix}/`,
    region: s3.region,
    curlConfig: bucketCurlConfig(layout.unitPrefix, name),
    retentionDays: entry.retention_days,
  };
}

/** curl's config syntax: a quoted string with \ and " escaped. */
const curlQuoted = (text: string) => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/** The bucket's credentials, as curl reads them from its config file (root only, never on a command line). */
export function bucketCredentials(entry: CopyEntry, layout: Layout): ConfigFile {
  return { path: bucketCurlConfig(layout.unitPrefix, copyName(entry)), text: `user = ${curlQuoted(`${entry.s3.access_key_id ?? ''}:${entry.s3.secret_access_key ?? ''}`)}\n`, mode: '600', secret: true };
}

export interface CopyServerFacts {
  account: boolean;
  dir?: { mode: string; owner: string };
  files: Record<string, string>;
  timer: boolean;
  hostKeys: string[];
}

export function parseCopyServerFacts(lines: readonly string[]): CopyServerFacts {
  const facts: CopyServerFacts = { account: false, files: {}, timer: false, hostKeys: [] };
  for (const line of lines) {
    const [word, ...rest] = line.trim().split(' ');
    if (word === 'account') facts.account = true;
    else if (word === 'timer') facts.timer = true;
    else if (word === 'dir' && rest.length === 2) facts.dir = { mode: rest[0]!, owner: rest[1]! };
    else if (word === 'file' && rest.length === 2) facts.files[rest[1]!] = rest[0]!;
    else if (word === 'hostkey' && rest.length === 2) facts.hostKeys.push(rest.join(' '));
  }
  return facts;
}

export interface CopyClientFacts {
  publicKey?: string;
  files: Record<string, string>;
}

export function parseCopyClientFacts(lines: readonly string[]): CopyClientFacts {
  const facts: CopyClientFacts = { files: {} };
  lines.forEach((line, i) => {
    const [word, ...rest] = line.trim().split(' ');
    if (word === 'pubkey' && rest.length > 0) facts.publicKey = rest.join(' ');
    // ensureKey prints `pubkey` alone, then the key on the next line.
    if (word === 'pubkey' && rest.length === 0 && lines[i + 1]) facts.publicKey = lines[i + 1]!.trim();
    if (word === 'file' && rest.length === 2) facts.files[rest[1]!] = rest[0]!;
  });
  return facts;
}

const changed = (files: Record<string, string>, file: ConfigFile) => files[file.path] !== sha256(file.text);

/** What setup writes on a copy server, for the probe to hash. */
export function copyServerFiles(prefix: string, d: CopyDestination, publicKey: string) {
  return {
    receiver: { path: receiverPath(prefix), text: renderReceiver(prefix, d.dir), mode: '755' } satisfies ConfigFile,
    keys: { path: accountKeys(prefix), text: authorizedKeyLine(prefix, publicKey), mode: '644' } satisfies ConfigFile,
    retention: [
      { path: expireScriptPath(prefix), text: renderExpireScript(prefix, d.dir, d.retentionDays), mode: '755' },
      { path: `/etc/systemd/system/${expireUnit(prefix)}`, text: renderExpireService(prefix) },
      { path: `/etc/systemd/system/${expireTimer(prefix)}`, text: renderExpireTimer(prefix) },
    ] satisfies ConfigFile[],
  };
}

/**
 * The copy server's items: the account (whose authorized_keys holds the database server's key alone, so the key
 * of a server replaced by `recover` stops working there) and the retention timer.
 */
export function copyServerItems(prefix: string, d: CopyDestination, publicKey: string, facts: CopyServerFacts): SetupItem[] {
  const f = copyServerFiles(prefix, d, publicKey);
  const accountReady = facts.account && facts.dir?.mode === '700' && facts.dir.owner === d.account && !changed(facts.files, f.receiver) && !changed(facts.files, f.keys);
  const retentionReady = facts.timer && f.retention.every((file) => !changed(facts.files, file));
  return [
    { id: 'copy-account', title: `Backup account ${d.account}: adds and reads dumps in ${d.dir}, nothing else`, commands: accountReady ? [] : ensureCopyAccount(prefix, d.dir, f.receiver, f.keys), warnings: [] },
    { id: 'copy-retention', title: `Copies older than ${d.retentionDays} days deleted daily (${expireTimer(prefix)})`, commands: retentionReady ? [] : installTimer(f.retention, expireTimer(prefix)), warnings: [] },
  ];
}

export interface CopySourceInput {
  layout: Layout;
  destinations: AnyDestination[];
  /** The buckets' credentials files. */
  credentials?: ConfigFile[];
}

export function copyClientFiles({ layout, destinations, credentials = [] }: CopySourceInput, hostKeys: Record<string, string[]>): ConfigFile[] {
  const prefix = layout.unitPrefix;
  const known = destinations.flatMap((d) => (d.kind === 'server' ? (hostKeys[d.name] ?? []).map((key) => `${knownHostName(d.address, d.port)} ${key}`) : []));
  return [
    ...credentials,
    { path: copyKnownHosts(prefix), text: `${known.join('\n')}\n`, mode: '644' },
    { path: copyScriptPath(prefix), text: renderCopyScript({ dir: `${layout.shared}/backups`, prefix, current: layout.current, releasesMeta: `${layout.meta}/releases`, destinations }), mode: '755' },
    { path: `/etc/systemd/system/${copyUnit(prefix)}`, text: renderCopyService(prefix) },
  ];
}

/** The key item comes first (its public half goes to the copy servers); the client item last (it needs their host keys). */
export function copyKeyItem(prefix: string, label: string, facts: CopyClientFacts): SetupItem {
  return { id: 'copy-key', title: 'Key for the backup copies', commands: facts.publicKey ? [] : ensureKey(copyConfigDir(prefix), `slipway backup copies of ${prefix} on ${label}`), warnings: [] };
}

export function copyClientItem(input: CopySourceInput, hostKeys: Record<string, string[]>, facts: CopyClientFacts): SetupItem {
  const files = copyClientFiles(input, hostKeys);
  const names = input.destinations.map((d) => d.name).join(', ');
  const todo = files.filter((f) => changed(facts.files, f));
  return { id: 'copy-client', title: `Every dump copied to ${names}`, commands: todo.length > 0 ? installCopyClient(files, copyScriptPath(input.layout.unitPrefix)) : [], warnings: [] };
}

/** One dump on a copy server. */
export interface CopyFile {
  name: string;
  size: number;
  at: Date;
  /** The checksum recorded when it arrived (verified then); `-` when it has none. */
  sum: string;
  /** Recomputed now (listing with checks). */
  actual?: string;
}

export interface CopyListing {
  files: CopyFile[];
  live?: { release: string; sha: string; at: string };
}

export function parseCopies(lines: readonly string[]): CopyListing {
  const files = new Map<string, CopyFile>();
  let live: CopyListing['live'];
  for (const line of lines) {
    const copy = /^copy (\d+) (\d+) (\S+) (\S+)$/.exec(line.trim());
    if (copy) files.set(copy[4]!, { name: copy[4]!, size: Number(copy[1]), at: new Date(Number(copy[2]) * 1000), sum: copy[3]! });
    const check = /^check ([0-9a-f]{64}) (\S+)$/.exec(line.trim());
    const file = check ? files.get(check[2]!) : undefined;
    if (file) file.actual = check![1]!;
    const record = /^live (\S+) ([0-9a-f]+) (\S+)$/.exec(line.trim());
    if (record) live = { release: record[1]!, sha: record[2]!, at: record[3]! };
  }
  return { files: [...files.values()].sort((a, b) => b.at.getTime() - a.at.getTime() || b.name.localeCompare(a.name)), ...(live ? { live } : {}) };
}

/** A copy is sound when it has a recorded checksum and, where recomputed, the same one. */
export const copyState = (file: CopyFile): 'ok' | 'damaged' | 'unchecked' => (file.sum === '-' ? 'unchecked' : file.actual === undefined || file.actual === file.sum ? 'ok' : 'damaged');
