// What `slipway setup` knows about a host before planning: the output of ops/setup-probe.ts, parsed (pure).

export interface DirState {
  mode: string;
  owner: string;
  group: string;
}

export interface HbaRule {
  line: number;
  type: string;
  databases: string[];
  address: string;
  netmask: string;
}

/** A database server's settings (asked for only there). */
export interface PostgresServerFacts {
  configFile?: string;
  hbaFile?: string;
  ssl?: string;
  /** The file that sets listen_addresses (postgresql.auto.conf after ALTER SYSTEM). */
  listenSource?: string;
  /** slipway's certificate exists. */
  cert: boolean;
}

export interface SetupFacts {
  systemd: boolean;
  /** Of the packages asked about, those installed. */
  packages: string[];
  appUser: boolean;
  dirs: Record<string, DirState>;
  /** sha256 of each file asked about that exists. */
  files: Record<string, string>;
  /** sshd's effective settings for the login user (`sshd -T`), lowercase keywords. */
  sshd: Record<string, string>;
  /** Keys of the login user in the files sshd reads; undefined when sshd is not installed. */
  authorizedKeys?: number;
  /** Present when ufw is installed. */
  firewall?: { usable: boolean; reason?: string; status: string[] };
  /** Present when PostgreSQL answers. */
  postgres?: { listen: string; verifier?: string; database: boolean; hba: HbaRule[]; server?: PostgresServerFacts };
  redisInclude: boolean;
  /** The backup timer is enabled and active. */
  timer: boolean;
  /** The restore drill's timer is enabled and active. */
  drillTimer?: boolean;
  /** supervisord is enabled and answers (asked only under process_manager supervisor). */
  supervisor?: boolean;
}

export function parseSetupFacts(output: string): SetupFacts {
  const facts: SetupFacts = { systemd: false, packages: [], appUser: false, dirs: {}, files: {}, sshd: {}, redisInclude: false, timer: false };
  const pg = () => (facts.postgres ??= { listen: '', database: false, hba: [] });
  const server = () => (pg().server ??= { cert: false });
  for (const raw of output.split('\n')) {
    const line = raw.trimEnd();
    const [kind = '', ...words] = line.split(' ');
    const rest = words.join(' ');
    if (kind === 'flag' && rest === 'systemd') facts.systemd = true;
    else if (kind === 'flag' && rest === 'app-user') facts.appUser = true;
    else if (kind === 'flag' && rest === 'redis-include') facts.redisInclude = true;
    else if (kind === 'flag' && rest === 'timer') facts.timer = true;
    else if (kind === 'flag' && rest === 'drill-timer') facts.drillTimer = true;
    else if (kind === 'flag' && rest === 'supervisor') facts.supervisor = true;
    else if (kind === 'package' && words[0]) facts.packages.push(words[0]);
    else if (kind === 'dir' && words.length >= 4) facts.dirs[words.slice(3).join(' ')] = { mode: words[0]!, owner: words[1]!, group: words[2]! };
    else if (kind === 'file' && words.length >= 2) facts.files[words.slice(1).join(' ')] = words[0]!;
    else if (kind === 'sshd' && words[0]) {
      const key = words[0].toLowerCase();
      const value = words.slice(1).join(' ');
      // sshd -T prints one `port` line per port.
      facts.sshd[key] = key === 'port' && facts.sshd.port ? `${facts.sshd.port} ${value}` : value;
    } else if (kind === 'authorized-keys' && /^\d+$/.test(rest)) facts.authorizedKeys = Number(rest);
    else if (kind === 'firewall') {
      const usable = words[0] === 'usable';
      facts.firewall = { ...(facts.firewall ?? { status: [] }), usable, ...(usable ? {} : { reason: words.slice(1).join(' ') }) };
    } else if (kind === 'ufw') {
      facts.firewall ??= { usable: true, status: [] };
      facts.firewall.status.push(rest);
    } else if (kind === 'pg-running') pg();
    else if (kind === 'pg-listen') pg().listen = rest;
    else if (kind === 'pg-role') pg().verifier = rest;
    else if (kind === 'pg-db') pg().database = true;
    else if (kind === 'pg-config-file' && rest) server().configFile = rest;
    else if (kind === 'pg-hba-file' && rest) server().hbaFile = rest;
    else if (kind === 'pg-ssl') server().ssl = rest;
    else if (kind === 'pg-listen-source') server().listenSource = rest;
    else if (kind === 'pg-cert') server().cert = true;
    else if (kind === 'pg-hba' && words.length >= 5) {
      pg().hba.push({ line: Number(words[0]), type: words[1]!, databases: words[2]!.split(','), address: words[3]!, netmask: words[4]! });
    }
  }
  return facts;
}
