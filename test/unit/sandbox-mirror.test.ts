import { describe, expect, it } from 'vitest';
import { mirrorFromDeb822, mirrorFromOneLine } from '../../src/sandbox/mirror.js';

// Placeholder hosts only: the repository never names a real mirror.
describe('mirror from the machine apt sources', () => {
  it('takes the first URI of the first stanza of a deb822 file', () => {
    const text = [
      'Types: deb',
      '# http://old.invalid/archive/debian/20250520T000000Z',
      'URIs: http://mirror.invalid/debian/ http://second.invalid/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://mirror.invalid/debian-security',
      'Suites: bookworm-security',
      'Components: main',
    ].join('\n');
    expect(mirrorFromDeb822(text)).toBe('http://mirror.invalid/debian');
  });

  it('skips a leading stanza without URIs', () => {
    expect(mirrorFromDeb822('# comment only\n\nTypes: deb\nURIs: https://m.invalid/d\nSuites: bookworm\n')).toBe(
      'https://m.invalid/d',
    );
  });

  it('finds nothing in a file without URIs', () => {
    expect(mirrorFromDeb822('Types: deb\nSuites: bookworm\n')).toBeUndefined();
  });

  it('reads the first deb line of a one-line sources.list, skipping comments, deb-src and options', () => {
    const text = [
      '# deb http://commented.invalid/debian bookworm main',
      'deb-src http://src.invalid/debian bookworm main',
      'deb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian/ bookworm main',
      'deb http://later.invalid/debian bookworm main',
    ].join('\n');
    expect(mirrorFromOneLine(text)).toBe('http://mirror.invalid/debian');
  });
});
