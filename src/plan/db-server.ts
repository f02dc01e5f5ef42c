// Planning PostgreSQL on a database server (role db), for `setup` and before every deploy (pure): listen on the
// private address, TLS, pg_hba letting only the app servers in, each file written only when it differs and
// PostgreSQL restarted only when what it listens on changes (reloaded otherwise).
import type { Config } from '../config/types.js';
import type { Cmd } from '../ops/command.js';
import type { ConfigFile } from '../ops/config-file.js';
import { applyPostgres, pgHba, postgresConf, resetListenAddresses, serverCertificate } from '../ops/db-server.js';
import { sha256 } from '../ops/services.js';
import { PG_DROP_IN_NAME, PG_TLS_CERT, PG_TLS_KEY, listenAddresses, renderPgHba, renderPostgresConf } from '../render/db-server-files.js';
import type { SetupFacts } from './setup-facts.js';
import type { Topology } from './data-servers.js';

export interface DbServerItem {
  id: string;
  title: string;
  commands: Cmd[];
  skip?: { reason: string };
}

export interface DbServerInput {
  config: Pick<Config, 'database'>;
  /** With `database.kind` server: this host. */
  topology: Topology;
  label: string;
  facts: Pick<SetupFacts, 'postgres' | 'files'>;
}

/** What the probe asks for on a database server (the cert path is slipway's own, checked only when it is used). */
export const dbServerProbe = { dropInName: PG_DROP_IN_NAME, certFile: PG_TLS_CERT };

export const tlsFiles = (config: Pick<Config, 'database'>) =>
  config.database.tls_cert && config.database.tls_key ? { cert: config.database.tls_cert, key: config.database.tls_key, own: false } : { cert: PG_TLS_CERT, key: PG_TLS_KEY, own: true };

const parentDir = (path: string) => path.slice(0, path.lastIndexOf('/'));

export function dbServerItem({ config, topology, label, facts }: DbServerInput): DbServerItem {
  const db = config.database;
  const placement = topology.database;
  const clients = topology.appServers.map((s) => s.address);
  const title = `PostgreSQL: listen on the private address, TLS, ${clients.length} app server${clients.length === 1 ? '' : 's'} only`;
  if (placement.kind !== 'server' || placement.server.label !== label) return { id: 'postgres-server', title, commands: [], skip: { reason: 'not the database server' } };
  const server = facts.postgres?.server;
  if (!facts.postgres || !server?.configFile || !server.hbaFile) return { id: 'postgres-server', title, commands: [], skip: { reason: `PostgreSQL does not answer on ${label}: see \`systemctl status postgresql\`` } };

  const address = placement.server.address;
  const tls = tlsFiles(config);
  const dropIn: ConfigFile = { path: `${parentDir(server.configFile)}/conf.d/${PG_DROP_IN_NAME}`, text: renderPostgresConf({ address, certFile: tls.cert, keyFile: tls.key }), owner: 'postgres', group: 'postgres' };
  const hba: ConfigFile = { path: server.hbaFile, text: renderPgHba({ database: db.name!, user: db.user!, clients }), mode: '640', owner: 'postgres', group: 'postgres' };
  const changed = (file: ConfigFile) => facts.files[file.path] !== sha256(file.text);

  const commands: Cmd[] = [];
  if (tls.own && !server.cert) commands.push(serverCertificate({ cert: tls.cert, key: tls.key, address }));
  if (server.listenSource?.endsWith('postgresql.auto.conf')) commands.push(resetListenAddresses());
  if (changed(dropIn)) commands.push(...postgresConf({ dropIn, mainConf: server.configFile }));
  if (changed(hba)) commands.push(...pgHba(hba));
  const listen = listenAddresses(address);
  const restart = facts.postgres.listen !== listen;
  if (commands.length > 0 || restart || server.ssl !== 'on') commands.push(...applyPostgres({ restart, listen }));
  return { id: 'postgres-server', title, commands };
}
