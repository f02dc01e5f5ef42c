import { describe, expect, it } from 'vitest';
import { cmd, pipe, unless, type Step } from '../../src/ops/command.js';
import { quote, quoteArgv, renderCmd, renderScript, STEP_MARKER } from '../../src/ops/shell.js';

describe('quote', () => {
  it('leaves safe words readable', () => {
    for (const word of ['main', '/opt/shop/releases/20240102T030405Z-abc1234', 'a=b', 'user@host:22', '--force', '%s', 'v1.4.2']) {
      expect(quote(word)).toBe(word);
    }
  });

  it('single-quotes everything else', () => {
    expect(quote('')).toBe("''");
    expect(quote('a b')).toBe("'a b'");
    expect(quote('main; rm -rf /')).toBe("'main; rm -rf /'");
    expect(quote('$(id)')).toBe("'$(id)'");
    expect(quote('`id`')).toBe("'`id`'");
    expect(quote('${HOME}')).toBe("'${HOME}'");
    expect(quote('a\nb')).toBe("'a\nb'");
    expect(quote('*')).toBe("'*'");
    expect(quote('~')).toBe("'~'");
    expect(quote('#comment')).toBe("'#comment'");
    expect(quote('a&&b|c>d<e')).toBe("'a&&b|c>d<e'");
    expect(quote('"double"')).toBe(`'"double"'`);
    expect(quote('back\\slash')).toBe("'back\\slash'");
  });

  it('closes, escapes and reopens for single quotes', () => {
    expect(quote("it's")).toBe(`'it'\\''s'`);
    expect(quote("'")).toBe(`''\\'''`);
    expect(quote("''")).toBe(`''\\'''\\'''`);
    expect(quote("x'; rm -rf / #")).toBe(`'x'\\''; rm -rf / #'`);
  });

  it('joins an argv with spaces', () => {
    expect(quoteArgv(['git', 'checkout', 'main; rm -rf /'])).toBe("git checkout 'main; rm -rf /'");
    expect(quoteArgv([])).toBe('');
  });
});

describe('renderCmd', () => {
  it('renders a plain command', () => {
    expect(renderCmd(cmd('mkdir', '-p', '/opt/shop/releases'))).toBe('mkdir -p /opt/shop/releases');
  });

  it('puts env assignments behind `env`, quoted', () => {
    expect(renderCmd({ argv: ['printenv', 'A'], env: { A: '$(id)', B: 'plain' } })).toBe("env A='$(id)' B=plain printenv A");
    expect(renderCmd({ argv: ['true'], env: {} })).toBe('true');
  });

  it('runs as another user through non-interactive sudo, outside env', () => {
    expect(renderCmd({ argv: ['whoami'], user: 'shop', env: { X: '1' } })).toBe('sudo -n -H -u shop -- env X=1 whoami');
    expect(renderCmd({ argv: ['whoami'], user: "o'brien" })).toBe(`sudo -n -H -u 'o'\\''brien' -- whoami`);
  });

  it('wraps cwd in a subshell so the rest of the script keeps its directory', () => {
    expect(renderCmd({ argv: ['ls'], cwd: '/opt/my app' })).toBe("(cd '/opt/my app' && ls)");
    expect(renderCmd({ argv: ['sh', '-c', 'make build'], cwd: '/r', user: 'shop' })).toBe("(cd /r && sudo -n -H -u shop -- sh -c 'make build')");
  });

  it('redirects standard output, or silences a probe', () => {
    expect(renderCmd({ argv: ['printf', '%s\\n', 'ok'], stdoutTo: '/x/status file' })).toBe("printf '%s\\n' ok > '/x/status file'");
    expect(renderCmd({ argv: ['id', '-u', 'shop'], quiet: true })).toBe('id -u shop >/dev/null 2>&1');
    expect(renderCmd({ argv: ['tee', 'f'], stdoutTo: '/dev/null', cwd: '/d' })).toBe('(cd /d && tee f > /dev/null)');
  });

  it('feeds stdin as a quoted heredoc that adds a final newline only when missing', () => {
    expect(renderCmd({ argv: ['tee', '/f'], stdin: { text: 'a $HOME `id`\n' } })).toBe("tee /f <<'SLIPWAY_EOF_0'\na $HOME `id`\nSLIPWAY_EOF_0");
    expect(renderCmd({ argv: ['tee', '/f'], stdin: { text: 'no newline' } })).toBe("tee /f <<'SLIPWAY_EOF_0'\nno newline\nSLIPWAY_EOF_0");
    expect(renderCmd({ argv: ['cat'], stdin: { text: 'x' }, cwd: '/d' })).toBe("(cd /d && cat) <<'SLIPWAY_EOF_0'\nx\nSLIPWAY_EOF_0");
  });

  it('picks a heredoc delimiter that does not occur in the text', () => {
    const text = 'SLIPWAY_EOF_0\nSLIPWAY_EOF_1\n';
    expect(renderCmd({ argv: ['cat'], stdin: { text } })).toBe(`cat <<'SLIPWAY_EOF_2'\n${text}SLIPWAY_EOF_2`);
  });

  it('redacts secret stdin only when asked, and never plain stdin', () => {
    const secret = { argv: ['tee', '/e'], stdin: { text: 'DB_PASSWORD="hunter22"\n', secret: true } };
    expect(renderCmd(secret)).toBe(`tee /e <<'SLIPWAY_EOF_0'\nDB_PASSWORD="hunter22"\nSLIPWAY_EOF_0`);
    expect(renderCmd(secret, { redact: true })).toBe("tee /e <<'SLIPWAY_EOF_0'\n<redacted: secret values>\nSLIPWAY_EOF_0");
    expect(renderCmd({ argv: ['tee', '/m'], stdin: { text: 'public\n' } }, { redact: true })).toBe("tee /m <<'SLIPWAY_EOF_0'\npublic\nSLIPWAY_EOF_0");
  });

  it('renders pipelines, fallbacks and snippets', () => {
    expect(renderCmd(pipe(cmd('git', 'archive', 'abc'), cmd('tar', '-x', '-C', '/r 1')))).toBe("git archive abc | tar -x -C '/r 1'");
    expect(renderCmd(unless(cmd('test', '-d', '/r'), cmd('git', 'init', '--bare', '/r')))).toBe('{ test -d /r || git init --bare /r; }');
    expect(renderCmd(unless(unless(cmd('a'), cmd('b')), cmd('c')))).toBe('{ { a || b; } || c; }');
    expect(renderCmd({ shell: 'for x in 1 2; do :; done' })).toBe('for x in 1 2; do :; done');
    expect(renderCmd({ if: cmd('test', '-f', '/a b'), then: [cmd('cp', '/a b', '/c')], else: [] })).toBe("if test -f '/a b'; then\ncp '/a b' /c\nelse\n:\nfi");
    expect(renderCmd({ if: { argv: ['grep', '-q', 'x'], stdin: { text: 'x' } }, then: [], else: [cmd('false')] })).toBe(
      "if grep -q x <<'SLIPWAY_EOF_0'; then\nx\nSLIPWAY_EOF_0\n:\nelse\nfalse\nfi",
    );
  });
});

describe('renderScript', () => {
  it('starts strict, marks each step and renders each command on its own line', () => {
    const steps: Step[] = [
      { id: 'prepare', title: 'Prepare', commands: [cmd('mkdir', '-p', '/a'), cmd('true')] },
      { id: 'it\'s', title: 'Odd id', commands: [] },
      { id: 'write', title: 'Write', commands: [{ argv: ['tee', '/e'], stdin: { text: 'S3CRET_VALUE\n', secret: true } }] },
    ];
    expect(renderScript(steps)).toBe(
      [
        'set -euo pipefail',
        `trap 'echo "##slipway-failed-command $BASH_COMMAND"' ERR`,
        'echo \'##slipway-step prepare\'',
        'mkdir -p /a',
        'true',
        `echo '##slipway-step it'\\''s'`,
        "echo '##slipway-step write'",
        "tee /e <<'SLIPWAY_EOF_0'",
        'S3CRET_VALUE',
        'SLIPWAY_EOF_0',
        '',
      ].join('\n'),
    );
    expect(renderScript(steps, { redact: true })).not.toContain('S3CRET_VALUE');
    expect(renderScript(steps, { redact: true })).toContain('<redacted: secret values>');
    expect(STEP_MARKER).toBe('##slipway-step ');
  });

  it('is just the preamble for no steps', () => {
    expect(renderScript([])).toBe(`set -euo pipefail\ntrap 'echo "##slipway-failed-command $BASH_COMMAND"' ERR\n`);
  });
});
