// The visual rule builder's model and its two conversions: builder tree → rule JSON (the
// docs/segments.md language, typed by the schema: "100000" becomes a number for a NUMBER
// property) and rule JSON → builder tree (anything the builder cannot show stays as raw JSON,
// so nothing of a stored rule is lost).
import type { Rule } from '../../api/audience';

export type Op = '=' | '!=' | '>' | '>=' | '<' | '<=' | 'between' | 'in' | 'not_in' | 'contains' | 'starts_with' | 'is_set' | 'not_set';
export const OPS: Op[] = ['=', '!=', '>', '>=', '<', '<=', 'between', 'in', 'not_in', 'contains', 'starts_with', 'is_set', 'not_set'];
export const COUNT_OPS: Op[] = ['>=', '>', '=', '!=', '<', '<=', 'between'];
export const NO_VALUE = new Set<Op>(['is_set', 'not_set']);

/** Message key of an operator's label. */
export const OP_KEY: Record<Op, string> = {
  '=': 'segments.op.eq',
  '!=': 'segments.op.ne',
  '>': 'segments.op.gt',
  '>=': 'segments.op.ge',
  '<': 'segments.op.lt',
  '<=': 'segments.op.le',
  between: 'segments.op.between',
  in: 'segments.op.in',
  not_in: 'segments.op.not_in',
  contains: 'segments.op.contains',
  starts_with: 'segments.op.starts_with',
  is_set: 'segments.op.is_set',
  not_set: 'segments.op.not_set',
};

/** A property compared to a value; values are kept as typed text until the rule is built. */
export interface ValueCond {
  property: string;
  op: Op;
  value: string;
  value2: string;
}

export interface Within {
  mode: 'all' | 'last' | 'range';
  last: string;
  from: string;
  to: string;
}

interface Base {
  key: string;
  /** Wrapped in {"not": ...}: everyone else. */
  not: boolean;
}

export interface GroupNode extends Base {
  kind: 'group';
  op: 'all' | 'any';
  children: BNode[];
}
export interface ProfileNode extends Base, ValueCond {
  kind: 'profile';
}
export interface TagNode extends Base, ValueCond {
  kind: 'tag';
}
export interface DidNode extends Base {
  kind: 'did';
  /** false: did_not (never did, in the window). */
  did: boolean;
  event: string;
  where: ValueCond[];
  measure: 'count' | 'sum';
  cmpOp: Op;
  cmpValue: string;
  cmpValue2: string;
  sumProperty: string;
  within: Within;
}
export interface SequenceNode extends Base {
  kind: 'sequence';
  steps: { key: string; event: string; where: ValueCond[] }[];
  window: string;
  within: Within;
}
export interface SegmentRefNode extends Base {
  kind: 'segment';
  segment: string;
}
export interface RawNode extends Base {
  kind: 'raw';
  json: string;
}
export type BNode = GroupNode | ProfileNode | TagNode | DidNode | SequenceNode | SegmentRefNode | RawNode;
export type NodeKind = BNode['kind'];

let counter = 0;
export const newKey = () => `n${++counter}`;

export const emptyWithin = (mode: Within['mode'] = 'last'): Within => ({ mode, last: '30d', from: '', to: '' });
export const emptyCond = (property = ''): ValueCond => ({ property, op: '=', value: '', value2: '' });

export function newNode(kind: NodeKind): BNode {
  const key = newKey();
  switch (kind) {
    case 'group':
      return { key, kind, not: false, op: 'all', children: [] };
    case 'profile':
      return { key, kind, not: false, ...emptyCond() };
    case 'tag':
      return { key, kind, not: false, ...emptyCond() };
    case 'did':
      return {
        key,
        kind,
        not: false,
        did: true,
        event: '',
        where: [],
        measure: 'count',
        cmpOp: '>=',
        cmpValue: '1',
        cmpValue2: '',
        sumProperty: '',
        within: emptyWithin(),
      };
    case 'sequence':
      return {
        key,
        kind,
        not: false,
        steps: [
          { key: newKey(), event: '', where: [] },
          { key: newKey(), event: '', where: [] },
        ],
        window: '1d',
        within: emptyWithin(),
      };
    case 'segment':
      return { key, kind, not: false, segment: '' };
    case 'raw':
      return { key, kind, not: false, json: '{}' };
  }
}

export const emptyRoot = (): GroupNode => ({ key: newKey(), kind: 'group', not: false, op: 'all', children: [] });

// ---- builder → JSON ----

/** Schema types of the names a rule refers to (profile properties, tags, event properties). */
export interface Types {
  profile: (name: string) => string | undefined;
  tag: (name: string) => string | undefined;
  eventProperty: (name: string) => string | undefined;
}

/** A rule that cannot be built yet: which condition (1-based path like "2.1") and why (a message key). */
export class BuildError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

const NUMBER_RE = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

function scalar(text: string, type: string | undefined, path: string): string | number | boolean {
  const s = text.trim();
  if (type === 'NUMBER') {
    if (!NUMBER_RE.test(s)) throw new BuildError(path, 'segments.err.number');
    return Number(s);
  }
  if (type === 'BOOL') {
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
    throw new BuildError(path, 'segments.err.bool');
  }
  if (type === undefined && NUMBER_RE.test(s)) return Number(s);
  return s;
}

function condValue(c: { op: Op; value: string; value2: string }, type: string | undefined, path: string): unknown {
  if (NO_VALUE.has(c.op)) return undefined;
  if (c.op === 'between') {
    if (!c.value.trim() || !c.value2.trim()) throw new BuildError(path, 'segments.err.value');
    return [scalar(c.value, type, path), scalar(c.value2, type, path)];
  }
  if (c.op === 'in' || c.op === 'not_in') {
    const parts = c.value
      .split(/[,，\n]/)
      .map((x) => x.trim())
      .filter(Boolean);
    if (parts.length === 0) throw new BuildError(path, 'segments.err.value');
    return parts.map((p) => scalar(p, type, path));
  }
  if (c.op === 'contains') {
    if (!c.value.trim()) throw new BuildError(path, 'segments.err.value');
    return c.value.trim();
  }
  if (!c.value.trim()) throw new BuildError(path, 'segments.err.value');
  return scalar(c.value, type, path);
}

function compare(name: string, c: ValueCond, type: string | undefined, path: string): Record<string, unknown> {
  if (!c.property.trim()) throw new BuildError(path, name === 'property' ? 'segments.err.property' : `segments.err.${name}`);
  const out: Record<string, unknown> = { [name]: c.property.trim(), op: c.op };
  const v = condValue(c, type, path);
  if (v !== undefined) out.value = v;
  return out;
}

export function withinJson(w: Within, path: string): Record<string, string> | undefined {
  if (w.mode === 'all') return undefined;
  if (w.mode === 'last') {
    if (!/^\d+[dwhm]$/.test(w.last.trim())) throw new BuildError(path, 'segments.err.window');
    return { last: w.last.trim() };
  }
  if (!w.from || !w.to) throw new BuildError(path, 'segments.err.range');
  return { from: w.from, to: w.to };
}

export function whereJson(where: ValueCond[], types: Types, path: string): Record<string, unknown>[] {
  return where.map((c) => compare('property', c, types.eventProperty(c.property.replace(/^event\./, '')), path));
}

function build(node: BNode, types: Types, path: string): Rule {
  let out: Rule;
  switch (node.kind) {
    case 'group': {
      if (node.children.length === 0) throw new BuildError(path || '0', 'segments.err.emptyGroup');
      const children = node.children.map((c, i) => build(c, types, path ? `${path}.${i + 1}` : String(i + 1)));
      out = { [node.op]: children };
      break;
    }
    case 'profile':
      out = compare('profile', node, types.profile(node.property), path);
      break;
    case 'tag':
      out = compare('tag', node, types.tag(node.property), path);
      break;
    case 'did': {
      if (!node.event) throw new BuildError(path, 'segments.err.event');
      out = { [node.did ? 'did' : 'did_not']: node.event };
      if (node.where.length) out.where = whereJson(node.where, types, path);
      if (node.did) {
        const cmp = { op: node.cmpOp, value: node.cmpValue, value2: node.cmpValue2 };
        if (node.measure === 'sum') {
          if (!node.sumProperty) throw new BuildError(path, 'segments.err.sumProperty');
          out.sum = { property: node.sumProperty, op: node.cmpOp, value: condValue(cmp, 'NUMBER', path) };
        } else if (!(node.cmpOp === '>=' && node.cmpValue.trim() === '1')) {
          out.count = { op: node.cmpOp, value: condValue(cmp, 'NUMBER', path) };
        }
      }
      const w = withinJson(node.within, path);
      if (w) out.within = w;
      break;
    }
    case 'sequence': {
      if (node.steps.length < 2) throw new BuildError(path, 'segments.err.steps');
      const steps = node.steps.map((s) => {
        if (!s.event) throw new BuildError(path, 'segments.err.event');
        const step: Record<string, unknown> = { event: s.event };
        if (s.where.length) step.where = whereJson(s.where, types, path);
        return step;
      });
      out = { sequence: steps };
      if (node.window.trim()) {
        if (!/^\d+[dhm]$/.test(node.window.trim())) throw new BuildError(path, 'segments.err.window');
        out.window = node.window.trim();
      }
      const w = withinJson(node.within, path);
      if (w) out.within = w;
      break;
    }
    case 'segment':
      if (!node.segment) throw new BuildError(path, 'segments.err.segment');
      out = { segment: node.segment };
      break;
    case 'raw':
      try {
        const v = JSON.parse(node.json) as unknown;
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        out = v as Rule;
      } catch {
        throw new BuildError(path, 'segments.err.json');
      }
      break;
  }
  return node.not ? { not: out } : out;
}

/** The rule JSON of a builder tree; throws BuildError while something is missing. */
export function toRule(root: BNode, types: Types): Rule {
  // A root group with one child and no negation is just that child (the JSON a person would write).
  if (root.kind === 'group' && !root.not && root.children.length === 1 && root.op === 'all') {
    return build(root.children[0], types, '1');
  }
  return build(root, types, '');
}

// ---- JSON → builder ----

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

function parseValue(op: Op, value: unknown): { value: string; value2: string } {
  if (op === 'between' && Array.isArray(value)) return { value: str(value[0]), value2: str(value[1]) };
  if (Array.isArray(value)) return { value: value.map(str).join(', '), value2: '' };
  return { value: str(value), value2: '' };
}

function parseCond(v: Record<string, unknown>, nameKey: string): ValueCond | null {
  const op = v.op as Op;
  if (typeof v[nameKey] !== 'string' || !OPS.includes(op)) return null;
  return { property: v[nameKey] as string, op, ...parseValue(op, v.value) };
}

export function parseWhere(where: unknown): ValueCond[] | null {
  if (where === undefined) return [];
  if (!Array.isArray(where)) return null;
  const out: ValueCond[] = [];
  for (const w of where) {
    if (!isObj(w)) return null;
    const c = parseCond(w, 'property');
    if (!c) return null;
    out.push(c);
  }
  return out;
}

export function parseWithin(w: unknown): Within | null {
  if (w === undefined) return emptyWithin('all');
  if (!isObj(w)) return null;
  if (typeof w.last === 'string') return { mode: 'last', last: w.last, from: '', to: '' };
  if (typeof w.from === 'string' && typeof w.to === 'string') return { mode: 'range', last: '30d', from: w.from, to: w.to };
  return null;
}

const raw = (v: unknown): RawNode => ({ key: newKey(), kind: 'raw', not: false, json: JSON.stringify(v, null, 2) });

export function fromRule(v: unknown): BNode {
  if (!isObj(v)) return raw(v);
  const keys = Object.keys(v);
  if (keys.length === 1 && (keys[0] === 'all' || keys[0] === 'any') && Array.isArray(v[keys[0]])) {
    return { key: newKey(), kind: 'group', not: false, op: keys[0] as 'all' | 'any', children: (v[keys[0]] as unknown[]).map(fromRule) };
  }
  if (keys.length === 1 && keys[0] === 'not') {
    const inner = fromRule(v.not);
    return { ...inner, not: !inner.not } as BNode;
  }
  if (typeof v.profile === 'string') {
    const c = parseCond(v, 'profile');
    return c ? { key: newKey(), kind: 'profile', not: false, ...c } : raw(v);
  }
  if (typeof v.tag === 'string') {
    const c = parseCond(v, 'tag');
    return c ? { key: newKey(), kind: 'tag', not: false, ...c } : raw(v);
  }
  if (typeof v.did === 'string' || typeof v.did_not === 'string') {
    const where = parseWhere(v.where);
    const within = parseWithin(v.within);
    if (!where || !within) return raw(v);
    const did = typeof v.did === 'string';
    const node: DidNode = {
      key: newKey(),
      kind: 'did',
      not: false,
      did,
      event: (did ? v.did : v.did_not) as string,
      where,
      measure: 'count',
      cmpOp: '>=',
      cmpValue: '1',
      cmpValue2: '',
      sumProperty: '',
      within,
    };
    if (isObj(v.count)) {
      const op = v.count.op as Op;
      if (!COUNT_OPS.includes(op)) return raw(v);
      const pv = parseValue(op, v.count.value);
      Object.assign(node, { cmpOp: op, cmpValue: pv.value, cmpValue2: pv.value2 });
    } else if (isObj(v.sum)) {
      const op = v.sum.op as Op;
      if (!COUNT_OPS.includes(op) || typeof v.sum.property !== 'string') return raw(v);
      const pv = parseValue(op, v.sum.value);
      Object.assign(node, { measure: 'sum', sumProperty: v.sum.property, cmpOp: op, cmpValue: pv.value, cmpValue2: pv.value2 });
    }
    return node;
  }
  if (Array.isArray(v.sequence)) {
    const within = parseWithin(v.within);
    if (!within) return raw(v);
    const steps: SequenceNode['steps'] = [];
    for (const s of v.sequence) {
      if (!isObj(s) || typeof s.event !== 'string') return raw(v);
      const where = parseWhere(s.where);
      if (!where) return raw(v);
      steps.push({ key: newKey(), event: s.event, where });
    }
    return { key: newKey(), kind: 'sequence', not: false, steps, window: str(v.window), within };
  }
  if (typeof v.segment === 'string' || typeof v.segment === 'number') {
    return { key: newKey(), kind: 'segment', not: false, segment: String(v.segment) };
  }
  return raw(v);
}

/** The builder's root for a stored rule: always a group, so conditions can be added. */
export function rootFromRule(rule: unknown): GroupNode {
  const n = fromRule(rule);
  if (n.kind === 'group' && !n.not) return n;
  return { key: newKey(), kind: 'group', not: false, op: 'all', children: [n] };
}
