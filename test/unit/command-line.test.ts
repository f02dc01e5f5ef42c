// What the servers record of the command line (the lock holder): never an env value.
import { describe, expect, it } from 'vitest';
import { commandLine } from '../../src/cli/context.js';
import { agentBootstrap } from '../../src/ops/agent.js';

describe('the command line recorded as lock holder', () => {
  it('names the keys of env set, never their values', () => {
    expect(commandLine(['env', 'set', 'prod', 'API_KEY=s3cr=t', 'EMPTY=', 'MULTI=a\nb', '--host', 'web1'])).toBe('slipway env set prod API_KEY=*** EMPTY=*** MULTI=*** --host web1');
    expect(commandLine(['-c', 'cfg', 'env', 'set', 'prod', 'TOKEN', '--stdin'])).toBe('slipway -c cfg env set prod TOKEN --stdin');
  });

  it('leaves other commands as typed', () => {
    expect(commandLine(['deploy', 'prod', '--ref', 'a=b'])).toBe('slipway deploy prod --ref a=b');
    expect(commandLine(['env', 'unset', 'prod', 'KEY'])).toBe('slipway env unset prod KEY');
  });
});

describe('agent bootstrap', () => {
  it('reads exactly the agent from stdin, so the remote command line carries none of it', () => {
    const agent = 'echo "ü"\n';
    expect(agentBootstrap(agent)).toBe(`echo '##slipway-up'; agent=$(head -c 10) && eval "$agent"`);
  });
});
