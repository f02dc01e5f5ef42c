// Server-wide work (packages, /etc, systemd, PostgreSQL as its superuser) needs root. Logged in as root, a script
// runs as it is; otherwise it runs through passwordless sudo, from a private temporary file: never as an
// argument (scripts may hold secrets in heredocs, and arguments show in `ps`), never on sudo's stdin (a command
// in the script reading stdin would eat the rest of the script).

function delimiter(text: string): string {
  let n = 0;
  while (text.includes(`SLIPWAY_ROOT_${n}`)) n += 1;
  return `SLIPWAY_ROOT_${n}`;
}

export function asRoot(script: string, uid: number): string {
  if (uid === 0) return script;
  const end = delimiter(script);
  const body = script.endsWith('\n') ? script : `${script}\n`;
  return [
    'slipway_script=$(mktemp)',
    `cat > "$slipway_script" <<'${end}'`,
    `${body}${end}`,
    'sudo -n bash "$slipway_script"; slipway_rc=$?',
    'rm -f "$slipway_script"',
    'exit "$slipway_rc"',
    '',
  ].join('\n');
}
