// Hand-written YAML for generated config files: comments where a person reads them, values quoted only
// where YAML would read something else.
import { parse } from 'yaml';

/**
 * A string as a YAML scalar: plain when YAML reads it back as the same string, else double-quoted (JSON).
 * YAML 1.1's booleans (yes, off...) are quoted too, for the editors and tools that still read them so.
 */
export function scalar(value: string): string {
  if (value !== '' && !/^\s|\s$|[\n\r\t]/.test(value) && !/^(y|n|yes|no|on|off|true|false|null|~)$/i.test(value)) {
    try {
      if ((parse(`k: ${value}`) as { k?: unknown } | null)?.k === value) return value;
    } catch {
      // not a plain scalar: quoted below
    }
  }
  return JSON.stringify(value);
}

const COMMENT_COLUMN = 27;

/** One line of a mapping: `code` indented, and its comment aligned with the others when it fits. */
export function line(indent: number, code: string, comment?: string): string {
  const text = `${' '.repeat(indent)}${code}`;
  if (!comment) return text;
  return `${text.length < COMMENT_COLUMN ? text.padEnd(COMMENT_COLUMN) : `${text}  `} # ${comment}`;
}

/** Comment lines wrapped at 110 columns, indented like the keys they describe. */
export function comment(indent: number, text: string): string[] {
  const prefix = `${' '.repeat(indent)}# `;
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current && prefix.length + current.length + 1 + word.length > 110) {
      lines.push(`${prefix}${current}`);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(`${prefix}${current}`);
  return lines;
}

/** Sections separated by one blank line, the file ending in a newline. */
export function document(sections: readonly (readonly string[])[]): string {
  return `${sections
    .filter((s) => s.length > 0)
    .map((s) => s.join('\n'))
    .join('\n\n')}\n`;
}
