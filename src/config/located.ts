// YAML parsed into a tree that remembers where every value came from (file:line:column), so validation
// errors after merging deploy.yml with deploy-<env>.yml still point at the right file. The tree is built
// within LIMITS: depth, items per collection, and values and text once aliases are expanded.
import { Composer, Lexer, LineCounter, Parser, isAlias, isMap, isScalar, isSeq, type CST, type Document, type Node } from 'yaml';
import { UserError } from '../errors.js';
import { configError, formatLoc, joinPath, type Loc } from './diagnostics.js';
import { LIMITS, MIB } from './limits.js';

export { formatLoc, type Loc } from './diagnostics.js';

export type Located =
  | { kind: 'map'; loc: Loc; entries: Map<string, { keyLoc: Loc; node: Located }> }
  | { kind: 'seq'; loc: Loc; items: Located[] }
  /** `source` is the text as written, kept for numbers so `3.10` can still mean the string "3.10". */
  | { kind: 'scalar'; loc: Loc; value: unknown; source?: string };

// The core schema's own tags (`!!str 10` is how YAML says "the text 10"); others (`!!binary`, `!!js/function`,
// `!custom`) would hand the loader values that are not text, numbers or booleans.
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));
const tagName = (tag: string) => tag.replace(/^tag:yaml\.org,2002:/, '!!');
const tooDeepMessage = `nested more than ${LIMITS.depth} levels deep: slipway's keys need a handful, flatten the rest`;

// Nesting is bounded before the yaml package composes the document: its composer recurses once per level, so
// a megabyte of `[` costs seconds and can exhaust the heap. The lexer and parser underneath are iterative, so
// the depth is measured on their token stream first.
interface ParsedYaml {
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

function parseBoundedYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  const tokens: CST.Token[] = [];
  // Parser.parse() records the first line itself; driven lexeme by lexeme, the caller does.
  lineCounter.addNewLine(0);
  let lexemes = 0;
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // Parsing costs a microsecond or more per token whatever the bytes, and composing several more.
    if (++lexemes > LIMITS.tokens) {
      const pos = lineCounter.linePos(parser.offset);
      throw new UserError(`${file}:${pos.line}:${pos.col}: more than ${LIMITS.tokens} YAML tokens (words, punctuation, line breaks): a configuration is far smaller, keep data out of it`);
    }
    // The stack holds the stream, the document and about one entry per open level; flow pairs (`[a: [b: ...`)
    // add two levels per entry, and the composed tree is checked level by level again afterwards.
    const top = parser.stack[parser.stack.length - 1];
    if (parser.stack.length > LIMITS.depth + 2 && top) {
      const pos = lineCounter.linePos(top.offset);
      throw new UserError(`${file}:${pos.line}:${pos.col}: ${tooDeepMessage}`);
    }
  }
  for (const token of parser.end()) tokens.push(token);
  // Duplicate keys are found while converting: the package's own check compares every key with every other.
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
  const docs = composer.compose(tokens, true, text.length);
  const first = docs.next();
  if (first.done) throw new Error('the YAML composer produced no document');
  const second = docs.next();
  if (!second.done) {
    const pos = lineCounter.linePos(second.value.range[0]);
    throw new UserError(`${file}:${pos.line}:${pos.col}: invalid YAML: a second document (after ---): keep one document per file`);
  }
  return { doc: first.value, lineCounter };
}


export function parseLocated(text: string, file: string): Located {
  const { doc, lineCounter } = parseBoundedYaml(text, file);
  const at = (offset: number | undefined): Loc => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, col: pos.col };
  };
  const first = doc.errors[0];
  if (first) {
    const message = first.message.split('\n')[0] ?? first.message;
    throw new UserError(`${formatLoc(at(first.pos[0]))}: invalid YAML: ${message}`);
  }
  // An alias names the last anchor before it in the document, recorded in document order. Each anchored value
  // is built once and an alias shares it, adding its size to the totals: a billion-laughs document is refused
  // in the time it takes to read, and the package's whole-document search per alias is never run.
  const anchors = new Map<string, Node>();
  const built = new Map<Node, { located: Located; nodes: number; chars: number; height: number }>();
  let nodes = 0;
  let chars = 0;
  let deepest = 0;
  const count = (loc: Loc, path: string, addNodes: number, addChars: number) => {
    nodes += addNodes;
    chars += addChars;
    if (nodes > LIMITS.nodes) throw configError(loc, path, `more than ${LIMITS.nodes} values in the file (aliases count as often as they are used)`);
    if (chars > LIMITS.expandedChars) throw configError(loc, path, `more than ${MIB(LIMITS.expandedChars)} of text in the file once aliases are expanded`);
  };
  const convert = (node: Node | null | undefined, fallback: Loc, path: string, depth: number): Located => {
    const loc = node ? at(node.range?.[0]) : fallback;
    if (depth > LIMITS.depth) throw configError(loc, path, tooDeepMessage);
    deepest = Math.max(deepest, depth);
    if (!node) {
      count(loc, path, 1, 0);
      return { kind: 'scalar', loc, value: null };
    }
    if (node.tag && !CORE_TAGS.has(node.tag)) throw configError(loc, path, `the YAML tag ${tagName(node.tag)} is not supported: write the plain value`);
    // Anchors in `x-` keys exist to be used: an alias is read as the value it names.
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const value = target && built.get(target);
      if (!value) throw new UserError(`${formatLoc(loc)}: invalid YAML: alias *${node.source} must name an anchor defined before it, outside itself`);
      if (depth + value.height > LIMITS.depth) throw configError(loc, path, tooDeepMessage);
      deepest = Math.max(deepest, depth + value.height);
      count(loc, path, value.nodes, value.chars);
      return value.located;
    }
    if (!node.anchor) return build(node, loc, path, depth);
    anchors.set(node.anchor, node);
    const [outerDeepest, nodesBefore, charsBefore] = [deepest, nodes, chars];
    deepest = depth;
    const located = build(node, loc, path, depth);
    built.set(node, { located, nodes: nodes - nodesBefore, chars: chars - charsBefore, height: deepest - depth });
    deepest = Math.max(outerDeepest, deepest);
    return located;
  };
  const build = (node: Node, loc: Loc, path: string, depth: number): Located => {
    count(loc, path, 1, 0);
    if (isMap(node) || isSeq(node)) {
      if (node.items.length > LIMITS.items) throw configError(loc, path, `more than ${LIMITS.items} ${isMap(node) ? 'keys in one mapping' : 'items in one list'}`);
    }
    if (isMap(node)) {
      const entries = new Map<string, { keyLoc: Loc; node: Located }>();
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const keyLoc = at(keyNode?.range?.[0]);
        if (keyNode && (!isScalar(keyNode) || (keyNode.tag && !CORE_TAGS.has(keyNode.tag)))) throw configError(keyLoc, path, 'a key must be plain text');
        const key = keyNode ? String(keyNode.value) : 'null';
        if (entries.has(key)) throw new UserError(`${formatLoc(keyLoc)}: invalid YAML: Map keys must be unique`);
        entries.set(key, { keyLoc, node: convert(pair.value as Node | null, keyLoc, joinPath(path, key), depth + 1) });
      }
      return { kind: 'map', loc, entries };
    }
    if (isSeq(node)) return { kind: 'seq', loc, items: node.items.map((item, i) => convert(item as Node, loc, joinPath(path, i), depth + 1)) };
    if (isScalar(node)) {
      count(loc, path, 0, typeof node.value === 'string' ? node.value.length : (node.source?.length ?? 0));
      return { kind: 'scalar', loc, value: node.value, ...(typeof node.value === 'number' && node.source !== undefined ? { source: node.source } : {}) };
    }
    throw new UserError(`${formatLoc(loc)}: YAML aliases and tags are not supported here`);
  };
  return convert(doc.contents as Node | null, at(0), '', 0);
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
