// The error taxonomy: the CLI's one handler prints a UserError as one line with its fix, a CommandFailedError
// with the host, command and the last lines of its output, and anything else as a bug.
import { SILENCE_SECONDS } from './ops/agent.js';
import { reasonIn } from './ops/reason.js';

/** Something the user must fix: bad config or arguments, or remote state such as a held lock. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A command on a host (or on the deployer) exited non-zero. */
export class CommandFailedError extends Error {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly command: string,
    readonly exitCode: number,
    readonly outputTail: string[],
  ) {
    super(`${step} failed on ${host} (exit ${exitCode}): ${reasonIn(outputTail) ?? command}`);
    this.name = 'CommandFailedError';
  }

  /** Why, when the step said so itself (ops/reason.ts): shown in place of the command that failed. */
  get reason(): string | undefined {
    return reasonIn(this.outputTail);
  }

  get hint(): string | undefined {
    if (this.reason?.startsWith('this server cannot reach a package source')) return 'run `apt-get update` on the server to see which source fails; a sandbox server booted with --offline (or SLIPWAY_SANDBOX_OFFLINE=1) reaches none: boot it again without';
    if (this.outputTail.some((line) => line.startsWith('No space left on device'))) return 'free disk space on the host (old releases, venvs and backups: `slipway status <env>` shows their sizes), then deploy again';
    // Django answers 400 to a Host header that ALLOWED_HOSTS lacks: the health check asks for 127.0.0.1.
    if (this.outputTail.some((line) => /^health check failed: .* answered 400, expected/.test(line))) return 'a 400 from a Django app is usually ALLOWED_HOSTS without the name it was asked for: the health check asks for 127.0.0.1, nginx sends the site\'s domain (or the server\'s address): add them to ALLOWED_HOSTS';
    if (this.exitCode === 127) return 'a program was not found on the host: install it or add it to dependencies.system';
    if (this.exitCode === 137) return 'the process was killed (SIGKILL), often by the out-of-memory killer';
    if (this.exitCode === 255) return `ssh could not reach the host or the connection dropped: a host that loses slipway stops within ${SILENCE_SECONDS} s, repairs itself and records what it did (see \`slipway history <env>\` once it answers again)`;
    return undefined;
  }
}
