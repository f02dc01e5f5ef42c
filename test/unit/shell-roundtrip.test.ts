// Rendered commands run through a real shell: what a hostile string looks like on the other side is the only
// proof that quoting works. Local, fast processes; nothing outside a temp dir is touched.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cmd, pipe, unless, type Cmd } from '../../src/ops/command.js';
import { quote, renderCmd, renderScript } from '../../src/ops/shell.js';

const HOSTILE = [
  'main; rm -rf /',
  '$(id)',
  '`id`',
  '${HOME}',
  "it's",
  "'",
  '"',
  '\\',
  'a\nb',
  '\n',
  ' leading and trailing ',
  '',
  '*',
  '-oProxyCommand=touch /tmp/pwned',
  '#not a comment',
  '!event',
  'tab\there',
  'ümlaut ☃',
  'a\\nb',
  'x && y || z > out < in | pipe &',
  'SLIPWAY_EOF_0',
];

const scratch = mkdtempSync(join(tmpdir(), 'slipway-shell-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sh(shell: 'bash' | 'sh', script: string, stdin?: string) {
  const result = spawnSync(shell, ['-c', script], { input: stdin ?? '', encoding: 'utf8', cwd: scratch, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-home' } });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** Runs `printf '%s\0' <argv...>` through the shell and splits what arrived. */
function argvThrough(shell: 'bash' | 'sh', command: Cmd): string[] {
  const { stdout, status, stderr } = sh(shell, renderCmd(command));
  expect(stderr).toBe('');
  expect(status).toBe(0);
  return stdout.split('\0').slice(0, -1);
}

describe('quoted argv survives a real shell', () => {
  for (const shell of ['bash', 'sh'] as const) {
    it(`keeps every hostile word intact in ${shell}`, () => {
      expect(argvThrough(shell, cmd('printf', '%s\\0', ...HOSTILE))).toEqual(HOSTILE);
    });
  }

  it('keeps every hostile word intact one at a time (no word depends on its neighbour)', () => {
    for (const word of HOSTILE) expect(argvThrough('bash', cmd('printf', '%s\\0', word))).toEqual([word]);
  });

  it('keeps env values intact', () => {
    const env = Object.fromEntries(HOSTILE.map((v, i) => [`V${i}`, v]));
    const names = Object.keys(env);
    const script = renderCmd({ argv: ['sh', '-c', `printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`], env });
    const { stdout, status } = sh('bash', script);
    expect(status).toBe(0);
    expect(stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('changes into a directory whose name needs quoting, and only for that command', () => {
    const dir = join(scratch, "we'ird $(id) dir");
    const { stdout } = sh('bash', `mkdir -p ${quote(dir)}\n${renderCmd({ argv: ['pwd'], cwd: dir })}\npwd`);
    expect(stdout).toBe(`${dir}\n${scratch}\n`);
  });

  it('writes a file whose name needs quoting', () => {
    const file = join(scratch, 'out; rm -rf x $(id)');
    sh('bash', renderCmd({ argv: ['printf', '%s', 'ok'], stdoutTo: file }));
    expect(readFileSync(file, 'utf8')).toBe('ok');
  });
});

describe('heredoc stdin arrives byte for byte', () => {
  const texts = [
    'plain\n',
    'A=$(id)\nB=`id`\nC=${HOME}\n',
    "quotes ' and \" and \\ backslash\n",
    'SLIPWAY_EOF_0\nSLIPWAY_EOF_1\nmore\n',
    '\tindented\n  spaces  \n\n\nblank lines\n',
  ];
  for (const [i, text] of texts.entries()) {
    it(`text ${i}`, () => {
      const { stdout, status } = sh('bash', renderCmd({ argv: ['cat'], stdin: { text } }));
      expect(status).toBe(0);
      expect(stdout).toBe(text);
    });
  }

  it('inside a fallback', () => {
    const { stdout, status } = sh('bash', renderCmd(unless(cmd('false'), { argv: ['cat'], stdin: { text: 'from heredoc\n' } })));
    expect(status).toBe(0);
    expect(stdout).toBe('from heredoc\n');
  });

  it('at the head of a pipeline', () => {
    const { stdout, status } = sh('bash', renderCmd(pipe({ argv: ['cat'], stdin: { text: 'abc\n' } }, cmd('tr', 'a-z', 'A-Z'))));
    expect(status).toBe(0);
    expect(stdout).toBe('ABC\n');
  });

  it('as the condition of an if, and inside its branches', () => {
    const command: Cmd = {
      if: { argv: ['grep', '-q', 'yes'], stdin: { text: 'yes\n' } },
      then: [{ argv: ['cat'], stdin: { text: 'then branch\n' } }, cmd('echo', 'after then')],
      else: [cmd('echo', 'else branch')],
    };
    const { stdout, status, stderr } = sh('bash', renderCmd(command));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toBe('then branch\nafter then\n');
    expect(sh('bash', renderCmd({ ...command, if: { argv: ['grep', '-q', 'yes'], stdin: { text: 'no\n' } } })).stdout).toBe('else branch\n');
  });

  it('in a full script, followed by more commands', () => {
    const script = renderScript([
      { id: 'one', title: '1', commands: [{ argv: ['cat'], stdin: { text: 'first' } }, unless(cmd('false'), { argv: ['cat'], stdin: { text: 'second\n' } }), cmd('echo', 'third')] },
    ]);
    const { stdout, status } = sh('bash', script);
    expect(status).toBe(0);
    expect(stdout).toBe("##slipway-step one\nfirst\nsecond\nthird\n");
  });
});

describe('rendered scripts fail loudly', () => {
  it('stops at the first failing command and names it', () => {
    const script = renderScript([
      { id: 'a', title: 'a', commands: [cmd('echo', 'ran')] },
      { id: 'b', title: 'b', commands: [cmd('false'), cmd('echo', 'not reached')] },
    ]);
    const { stdout, status } = sh('bash', script);
    expect(status).not.toBe(0);
    expect(stdout).toBe('##slipway-step a\nran\n##slipway-step b\n##slipway-failed-command false\n');
  });

  it('lets a fallback absorb the failure of its probe', () => {
    const { stdout, status } = sh('bash', renderScript([{ id: 'x', title: 'x', commands: [unless({ argv: ['test', '-d', '/nonexistent/dir'] }, cmd('echo', 'fallback')), cmd('echo', 'after')] }]));
    expect(status).toBe(0);
    expect(stdout).toBe('##slipway-step x\nfallback\nafter\n');
  });
});
