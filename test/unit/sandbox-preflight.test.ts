import { describe, expect, it } from 'vitest';
import { preflightError } from '../../src/sandbox/preflight.js';

describe('sandbox preflight', () => {
  it('passes on Linux as root with everything installed', () => {
    expect(preflightError({ platform: 'linux', uid: 0, missing: [] }, 'up web1')).toBeUndefined();
  });

  it('says the sandbox needs Linux', () => {
    expect(preflightError({ platform: 'darwin', uid: 0, missing: [] }, 'up web1')?.message).toBe(
      'slipway sandbox runs only on Linux (this is darwin)',
    );
  });

  it('says to use sudo when not root', () => {
    const error = preflightError({ platform: 'linux', uid: 1000, missing: [] }, 'up web1');
    expect(error?.message).toMatch(/^slipway sandbox up web1 needs root: /);
    expect(error?.hint).toBe('run it with sudo: sudo slipway sandbox up web1');
  });

  it('gives the apt command for missing programs', () => {
    const error = preflightError({ platform: 'linux', uid: 0, missing: ['systemd-nspawn', 'ip'] }, 'up web1');
    expect(error?.message).toBe('systemd-nspawn, ip are not installed');
    expect(error?.hint).toMatch(/^install with: sudo apt-get install -y systemd-container iproute2 /);
  });
});
