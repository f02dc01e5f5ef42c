// The validated configuration, as the rest of slipway sees it (defaults applied, secrets resolved).

export interface ServerConfig {
  host?: string;
  sandbox?: string;
  user?: string;
  port?: number;
  identity_file?: string;
  known_hosts_file?: string;
  host_key_checking: 'yes' | 'accept-new';
  roles: string[];
}

export interface ProcessConfig {
  command: string;
  port?: number;
  roles: string[];
  /** TimeoutStopSec: seconds between SIGTERM and SIGKILL (default 35). */
  stop_timeout?: number;
}

export interface Config {
  project: {
    name: string;
    repo?: string;
    branch: string;
    source: 'auto' | 'push' | 'fetch';
    framework: 'auto' | 'django' | 'fastapi' | 'python' | 'generic';
    python_version?: string;
    node_version?: string;
  };
  environment: string;
  per_branch: boolean;
  servers: ServerConfig[];
  base_path: string;
  keep_releases: number;
  app_user?: string;
  shared: { dirs: string[]; files: string[] };
  env_vars: Record<string, string>;
  dependencies: { system: string[]; python: string[]; requirements_files?: string[] };
  python: { system_site_packages: boolean; pip_version?: string; setuptools_version?: string };
  pip: { index_url?: string; extra_index_url: string[]; find_links: string[]; no_index: boolean };
  django: {
    settings_module?: string;
    collectstatic: boolean;
    check_deploy: boolean;
    superuser: { username?: string; email?: string; password?: string };
  };
  migrate: { command?: string; check?: string; backup: boolean };
  smoke?: string;
  processes: Record<string, ProcessConfig>;
  database: { engine: 'postgresql' | 'none'; name?: string; user?: string; password?: string; host: string; port: number };
  http: {
    enabled?: boolean;
    domain?: string;
    aliases: string[];
    default_server: boolean;
    tls: 'none' | 'self-signed' | 'letsencrypt';
    acme_server: string;
    acme_email?: string;
    acme_ca_bundle?: string;
    strategy: 'blue-green' | 'restart';
    drain_seconds: number;
    static_dir?: string;
    media_dir?: string;
    client_max_body_size: string;
    proxy_read_timeout: number;
    frame_options: 'DENY' | 'SAMEORIGIN';
  };
  health: { path?: string; process: string; expected_status: number; timeout: number; retries: number };
  hooks: { build: string[]; before_switch: string[]; after_switch: string[] };
  ssh: { concurrency: number; connect_timeout: number };
  backups: { retention_days: number; schedule: string; plain_sql_gzip: boolean };
  setup: {
    ufw: boolean;
    ssh_hardening: boolean;
    unattended_upgrades: boolean;
    redis: { enabled: boolean; password?: string; maxmemory: string; appendonly: boolean };
    journald_max_use: string;
    logrotate_keep: number;
  };
}

/** A loaded configuration plus what was learned while loading it. */
export interface LoadedConfig {
  config: Config;
  /** Directory holding the config files: relative repo paths resolve from here. */
  dir: string;
  files: string[];
  /** Resolved secret values: redacted from everything slipway prints or logs. */
  secrets: string[];
  warnings: string[];
  /** Hash of the merged config, recorded in each release's manifest. */
  hash: string;
}
