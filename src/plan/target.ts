// A server as the executor reaches it: this machine, or an SSH destination with its options resolved.

/** `privateAddress`: the IP address the other servers of the environment reach this one by, when known. */
export type Target =
  | { kind: 'local'; label: string; roles: string[]; privateAddress?: string }
  | {
      kind: 'ssh';
      label: string;
      roles: string[];
      privateAddress?: string;
      host: string;
      user?: string;
      port?: number;
      identityFile?: string;
      knownHostsFile?: string;
      hostKeyChecking: 'yes' | 'accept-new';
      connectTimeout: number;
      /** ssh.key_exchange fast: curve25519 first. */
      fastKeyExchange?: boolean;
      /** ssh.reuse_seconds: how long the connection stays open for the next command (0 or unset: it does not). */
      reuseSeconds?: number;
    };

