// YAML parsed into a tree that remembers where every value came from (file:line:column), so validation
// errors after merging deploy.yml with deploy-<env>.yml still point at the right file.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { UserError } from '../errors.js';

export interface Loc {
  file: string;
  line: number;
  col: number;
}

export type Located =
  | { kind: 'map'; loc: Loc; entries: Map<string, { keyLoc: Loc; node: Located }> }
  | { kind: 'seq'; loc: Loc; items: Located[] }
  /** `source` is the text as written, kept for numbers so `3.10` can still mean the string "3.10". */
  | { kind: 'scalar'; loc: Loc; value: unknown; source?: string };

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

export function parseLocated(text: string, file: string): Located {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined): Loc => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, col: pos.col };
  };
  const first = doc.errors[0];
  if (first) {
    const message = first.message.split('\n')[0] ?? first.message;
    throw new UserError(`${formatLoc(at(first.pos[0]))}: invalid YAML: ${message}`);
  }
  const expanding = new Set<Node>();
  const convert = (node: Node | null | undefined, fallback: Loc): Located => {
    if (!node) return { kind: 'scalar', loc: fallback, value: null };
    const loc = at(node.range?.[0]);
    // Anchors in `x-` keys exist to be used: an alias is read as the value it names.
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target || expanding.has(target)) throw new UserError(`${formatLoc(loc)}: invalid YAML: alias *${node.source} must name an anchor defined before it, outside itself`);
      expanding.add(target);
      const value = convert(target, loc);
      expanding.delete(target);
      return value;
    }
    if (isMap(node)) {
      const entries = new Map<string, { keyLoc: Loc; node: Located }>();
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const keyLoc = at(keyNode?.range?.[0]);
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        entries.set(key, { keyLoc, node: convert(pair.value as Node | null, keyLoc) });
      }
      return { kind: 'map', loc, entries };
    }
    if (isSeq(node)) return { kind: 'seq', loc, items: node.items.map((item) => convert(item as Node, loc)) };
    if (isScalar(node)) return { kind: 'scalar', loc, value: node.value, ...(typeof node.value === 'number' && node.source !== undefined ? { source: node.source } : {}) };
    throw new UserError(`${formatLoc(loc)}: YAML aliases and tags are not supported here`);
  };
  return convert(doc.contents as Node | null, at(0));
}

/** Deep merge: maps merge key by key, anything else in the overlay replaces the base. */
export function mergeLocated(base: Located, overlay: Located): Located {
  if (base.kind !== 'map' || overlay.kind !== 'map') return overlay;
  const entries = new Map(base.entries);
  for (const [key, entry] of overlay.entries) {
    const existing = entries.get(key);
    entries.set(key, existing ? { keyLoc: entry.keyLoc, node: mergeLocated(existing.node, entry.node) } : entry);
  }
  return { kind: 'map', loc: overlay.loc, entries };
}
