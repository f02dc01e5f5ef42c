// Opening a host: a local bash agent, or an ssh ControlMaster whose session is the agent.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockRequest } from '../ops/agent.js';
import { quote } from '../ops/shell.js';
import { gitSshCommand, masterArgs } from '../ops/ssh.js';
import type { Target } from '../plan/target.js';
import { AgentSession, SilentHost } from './agent-session.js';
import { endMaster, MASTER_ANSWER_MS, masterSocketAt, sharedControlDir, sharedControlPath } from './ssh-control.js';
import type { Redactor } from './redact.js';

export interface HostConnection {
  target: Target;
  session: AgentSession;
  /** Environment for deployer-side commands that reach this host (git push over the master connection). */
  deployerEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Every connection of one run, so Ctrl-C (or a crash) closes them all. */
export class ConnectionPool {
  private readonly open = new Set<HostConnection>();
  /** One directory per pool, made once even when hosts connect in parallel (every connect awaits the same one). */
  private controlDir: Promise<string> | undefined;
  /** The directory shared with other slipway commands (ssh.reuse_seconds), looked up once. */
  private sharedDir: Promise<string | undefined> | undefined;
  /** Taken before the first await: parallel connects never share a socket name. */
  private sockets = 0;

  constructor(private readonly redactor: Redactor) {}

  async connect(target: Target, lock?: LockRequest): Promise<HostConnection> {
    const connection = target.kind === 'local' ? await this.connectLocal(target, lock) : await this.connectSsh(target, lock);
    this.open.add(connection);
    return connection;
  }

  private async connectLocal(target: Target, lock: LockRequest | undefined): Promise<HostConnection> {
    // Own process group: Ctrl-C in the terminal reaches slipway only, which then stops the agent in order.
    const session = await AgentSession.start(target.label, this.redactor, lock, (bootstrap) => spawn('bash', ['-c', bootstrap], { stdio: 'pipe', detached: true }));
    return { target, session, deployerEnv: {}, close: () => session.close() };
  }

  private async connectSsh(target: Extract<Target, { kind: 'ssh' }>, lock: LockRequest | undefined): Promise<HostConnection> {
    const socket = String(this.sockets++);
    const shared = target.reuseSeconds ? await (this.sharedDir ??= sharedControlDir()) : undefined;
    let controlPath: string;
    if (shared) {
      controlPath = sharedControlPath(shared, target);
    } else {
      // A short private directory: unix socket paths are limited to ~100 bytes.
      this.controlDir ??= mkdtemp(join(tmpdir().length < 20 ? tmpdir() : '/tmp', 'slw-'));
      controlPath = join(await this.controlDir, socket);
    }
    const persist = shared ? (target.reuseSeconds ?? 0) : 0;
    const spawnAgent = (bootstrap: string) => spawn('ssh', masterArgs(target, controlPath, `bash -c ${quote(bootstrap)}`, persist), { stdio: 'pipe', detached: true });
    const start = (upWithinMs?: number) => AgentSession.start(target.label, this.redactor, lock, spawnAgent, upWithinMs);
    let session: AgentSession;
    if (shared && (await masterSocketAt(controlPath))) {
      // The agent itself checks a kept master (its first line, which comes before any lock wait): no session
      // of its own per command. A master whose server is gone is ended, and ssh makes a new one at the same path.
      session = await start(MASTER_ANSWER_MS).catch(async (error: unknown) => {
        if (!(error instanceof SilentHost)) throw error;
        await endMaster(target, controlPath);
        return start();
      });
    } else session = await start();
    return {
      target,
      session,
      deployerEnv: { GIT_SSH_COMMAND: gitSshCommand(target, controlPath) },
      close: () => session.close(),
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((c) => c.close()));
    this.open.clear();
    const dir = await this.controlDir?.catch(() => undefined);
    this.controlDir = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  /**
   * First Ctrl-C: tell every agent that slipway is going away (its input ends). The script in flight stops after
   * its current command and repairs its host (marks the release failed, or switches back), then reports.
   */
  interruptAll(): void {
    for (const connection of this.open) connection.session.interrupt();
  }

  killAll(): void {
    for (const connection of this.open) connection.session.kill();
  }
}
