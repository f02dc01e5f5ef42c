import { describe, expect, it } from 'vitest';
import { nspawnArgs } from '../../src/sandbox/boot.js';
import { keygenArgs, knownHostsLine } from '../../src/sandbox/keys.js';
import { sshCommandArgs, sshOptions } from '../../src/sandbox/ssh.js';

const spec = {
  name: 'web1',
  rootDir: '/var/cache/slipway/images/bookworm-abc',
  persist: false,
  authorizedKeysFile: '/s/id_ed25519.pub',
  hostKeyFile: '/s/host_keys/ssh_host_ed25519_key',
  hostsFile: '/s/servers/web1/hosts',
  hostAccessDir: '/s/servers/web1/host-access',
  hostSystemd: false,
};

describe('nspawn command', () => {
  it('boots an ephemeral server over the shared image in its namespace, keys bound in read-only, its hosts file writable, its package-source settings read-only', () => {
    expect(nspawnArgs(spec).join(' ')).toBe(
      'systemd-nspawn --directory=/var/cache/slipway/images/bookworm-abc --boot --register=no --keep-unit ' +
        '--machine=web1 --network-namespace-path=/run/netns/slw-web1 --volatile=overlay --console=read-only ' +
        '--bind-ro=/s/id_ed25519.pub:/root/.ssh/authorized_keys ' +
        '--bind-ro=/s/host_keys/ssh_host_ed25519_key:/etc/ssh/ssh_host_ed25519_key ' +
        '--bind-ro=/s/host_keys/ssh_host_ed25519_key.pub:/etc/ssh/ssh_host_ed25519_key.pub ' +
        '--bind=/s/servers/web1/hosts:/etc/hosts ' +
        '--bind-ro=/s/servers/web1/host-access:/etc/slipway-sandbox',
    );
  });

  it('lets nspawn allocate its own scope where systemd is the host init', () => {
    expect(nspawnArgs({ ...spec, hostSystemd: true })).not.toContain('--keep-unit');
  });

  it('boots a persistent server from its own tree, writable', () => {
    const args = nspawnArgs({ ...spec, persist: true, rootDir: '/s/servers/web1/rootfs' });
    expect(args).not.toContain('--volatile=overlay');
    expect(args).toContain('--directory=/s/servers/web1/rootfs');
  });
});

describe('ssh to a server', () => {
  it('uses only the sandbox key and known_hosts, strictly, never prompting', () => {
    expect(sshCommandArgs({ identityFile: '/s/id', knownHostsFile: '/s/kh' }, '10.77.1.2', 'true').join(' ')).toBe(
      'ssh -i /s/id -l root -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes ' +
        '-o UserKnownHostsFile=/s/kh -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no -o ConnectTimeout=5 ' +
        '-o LogLevel=ERROR 10.77.1.2 true',
    );
    expect(sshOptions({ identityFile: '/i', knownHostsFile: '/k' }, 9)).toContain('ConnectTimeout=9');
  });
});

describe('keys', () => {
  it('generates ed25519 keys without a passphrase', () => {
    expect(keygenArgs('/s/id', 'c').join(' ')).toBe('ssh-keygen -q -t ed25519 -N  -C c -f /s/id');
  });

  it('trusts the one host key for every sandbox address', () => {
    expect(knownHostsLine('ssh-ed25519 AAAAC3Nza host-comment\n')).toBe('10.77.*.2 ssh-ed25519 AAAAC3Nza\n');
    expect(() => knownHostsLine('garbage')).toThrow(/not an ssh public key/);
  });
});
