// The journey definition as the editor sees it: node types and their exits, the graph drawn on
// the canvas, automatic layout, the checks made before the server is asked, and where a server
// error (3007, `field` = JSON path) belongs. The definition itself stays plain JSON: fields the
// editor does not know are kept as they are.
import type { JourneyDefinition, JsonObject } from '../../api/journeys';

export const NODE_TYPES = ['send', 'task', 'wait', 'split', 'ab', 'update_profile', 'webhook', 'goal', 'exit'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const ENTRY_TYPES = ['event', 'breakpoint', 'segment_enter', 'segment_exit', 'schedule', 'once', 'key_date', 'api'] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

/** The id of the entry on the canvas (not a node of the definition; its exit is `start`). */
export const ENTRY_ID = '__entry__';
/** Problems that belong to the journey's settings rather than to a node. */
export const SETTINGS_ID = '__settings__';

/** Node positions are kept in the definition under this key (the server ignores unknown fields). */
export const LAYOUT_KEY = 'layout';

export type WaitMode = 'duration' | 'until' | 'event';

export function waitMode(node: JsonObject): WaitMode {
  if (node.event !== undefined) return 'event';
  if (node.until !== undefined) return 'until';
  return 'duration';
}

/** One way out of a node: the handle on the canvas and the node it leads to. */
export interface NodeExit {
  handle: string;
  target: string;
  /** The label kind: next, yes, no, event, timeout, branch. */
  kind: 'next' | 'yes' | 'no' | 'event' | 'timeout' | 'branch' | 'start';
  /** A branch's name (ab). */
  name?: string;
  weight?: number;
  optional?: boolean;
}

export function nodeExits(node: JsonObject): NodeExit[] {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (node.type) {
    case 'exit':
      return [];
    case 'split':
      return [
        { handle: 'yes', target: s(node.yes), kind: 'yes' },
        { handle: 'no', target: s(node.no), kind: 'no' },
      ];
    case 'ab':
      return (Array.isArray(node.branches) ? node.branches : []).map((b: JsonObject, i: number) => ({
        handle: `branch:${i}`,
        target: s(b?.next),
        kind: 'branch' as const,
        name: s(b?.name),
        weight: typeof b?.weight === 'number' ? b.weight : undefined,
      }));
    case 'wait':
      if (waitMode(node) === 'event')
        return [
          { handle: 'next', target: s(node.next), kind: 'event' },
          { handle: 'timeout_next', target: s(node.timeout_next), kind: 'timeout' },
        ];
      return [{ handle: 'next', target: s(node.next), kind: 'next' }];
    case 'goal':
      return [{ handle: 'next', target: s(node.next), kind: 'next', optional: true }];
    default:
      return [{ handle: 'next', target: s(node.next), kind: 'next' }];
  }
}

/** The node with the exit `handle` pointing at `target` ('' = not connected). */
export function setExit(node: JsonObject, handle: string, target: string): JsonObject {
  const out = { ...node };
  if (handle.startsWith('branch:')) {
    const i = Number(handle.slice(7));
    const branches = Array.isArray(node.branches) ? node.branches.map((b: JsonObject) => ({ ...b })) : [];
    if (branches[i]) branches[i].next = target;
    out.branches = branches;
    return out;
  }
  if (target) out[handle] = target;
  else delete out[handle];
  return out;
}

export function nodesOf(def: JourneyDefinition): Record<string, JsonObject> {
  return def.nodes && typeof def.nodes === 'object' && !Array.isArray(def.nodes) ? def.nodes : {};
}

/** A new node of a type, with the defaults a newcomer would pick. */
export function newNode(type: NodeType): JsonObject {
  switch (type) {
    case 'send':
      return { type };
    case 'task':
      return { type, title: '', assign: { property: 'advisor_id' }, sla: '1d' };
    case 'wait':
      return { type, duration: '1d' };
    case 'split':
      return { type, condition: { profile: '', op: '=', value: '' } };
    case 'ab':
      return {
        type,
        branches: [
          { name: 'A', weight: 50, next: '' },
          { name: 'B', weight: 50, next: '' },
        ],
      };
    case 'update_profile':
      return { type, set: {} };
    case 'webhook':
      return { type };
    case 'goal':
    case 'exit':
      return { type };
  }
}

export function newDefinition(name: string): JourneyDefinition {
  return { name, entry: { type: 'event', event: '' }, start: '', nodes: {} };
}

/** The first free id `<type>_<n>`. */
export function freshId(def: JourneyDefinition, type: string): string {
  const nodes = nodesOf(def);
  for (let n = 1; ; n++) {
    const id = `${type}_${n}`;
    if (!(id in nodes)) return id;
  }
}

export interface XY {
  x: number;
  y: number;
}

export interface Layout {
  entry?: XY;
  nodes: Record<string, XY>;
}

export function layoutOf(def: JourneyDefinition): Layout {
  const l = def[LAYOUT_KEY];
  const nodes: Record<string, XY> = {};
  if (l && typeof l === 'object' && l.nodes && typeof l.nodes === 'object') {
    for (const [id, p] of Object.entries(l.nodes as Record<string, XY>)) {
      if (p && Number.isFinite(p.x) && Number.isFinite(p.y)) nodes[id] = { x: p.x, y: p.y };
    }
  }
  const entry = l?.entry && Number.isFinite(l.entry.x) && Number.isFinite(l.entry.y) ? { x: l.entry.x, y: l.entry.y } : undefined;
  return { entry, nodes };
}

export const COL_W = 270;
export const ROW_H = 150;
/** The size a step is drawn at (journeys.css `.jn-node`; the height of one with a short summary). */
export const NODE_W = 210;
export const NODE_H = 80;

/** A rectangle in window coordinates (a DOMRect fits). */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * The centre of the part of `box` (the canvas) the user can see: inside the window, below
 * `topInset` (anything covering the top of the window). null when none of it is on screen.
 */
export function visibleCentre(box: Box, win: { width: number; height: number }, topInset = 0): XY | null {
  const left = Math.max(box.left, 0);
  const right = Math.min(box.right, win.width);
  const top = Math.max(box.top, topInset, 0);
  const bottom = Math.min(box.bottom, win.height);
  if (right - left < 1 || bottom - top < 1) return null;
  return { x: (left + right) / 2, y: (top + bottom) / 2 };
}

/**
 * A place for a new step near `want` (its top-left corner) that no step in `taken` covers: `want`
 * itself, else the nearest free one in its column (alternately below and above), else in the
 * next columns to the right. `want` when everything near is taken.
 */
export function freeSpot(want: XY, taken: XY[]): XY {
  const gapY = NODE_H + 20;
  const free = (p: XY) => !taken.some((q) => Math.abs(q.x - p.x) < NODE_W + 20 && Math.abs(q.y - p.y) < gapY);
  for (let col = 0; col < 3; col++) {
    for (let k = 0; k <= 4; k++) {
      for (const dy of k === 0 ? [0] : [k * gapY, -k * gapY]) {
        const p = { x: want.x + col * COL_W, y: want.y + dy };
        if (free(p)) return p;
      }
    }
  }
  return want;
}

/**
 * Positions for every node: the stored ones, and for the others a layout by distance from the
 * start (breadth first, one column per step, left to right).
 */
export function positions(def: JourneyDefinition): { entry: XY; nodes: Record<string, XY> } {
  const stored = layoutOf(def);
  const nodes = nodesOf(def);
  const ids = Object.keys(nodes);
  const missing = ids.filter((id) => !stored.nodes[id]);
  const out: Record<string, XY> = { ...stored.nodes };
  const entry = stored.entry ?? { x: 0, y: 0 };
  if (missing.length === 0) return { entry, nodes: pick(out, ids) };

  const depth: Record<string, number> = {};
  const start = typeof def.start === 'string' && def.start in nodes ? def.start : undefined;
  const queue: string[] = [];
  if (start) {
    depth[start] = 0;
    queue.push(start);
  }
  while (queue.length) {
    const id = queue.shift()!;
    for (const e of nodeExits(nodes[id])) {
      if (e.target in nodes && depth[e.target] === undefined) {
        depth[e.target] = depth[id] + 1;
        queue.push(e.target);
      }
    }
  }
  const maxDepth = Math.max(-1, ...Object.values(depth));
  const columns: Record<number, string[]> = {};
  for (const id of ids) {
    const d = depth[id] ?? maxDepth + 1;
    (columns[d] ||= []).push(id);
  }
  if (stored.nodes && Object.keys(stored.nodes).length > 0) {
    // Some nodes were placed by hand: put the new ones below everything.
    const maxY = Math.max(entry.y, ...Object.values(stored.nodes).map((p) => p.y));
    missing.forEach((id, i) => (out[id] = { x: entry.x + COL_W * (1 + (depth[id] ?? 0)), y: maxY + ROW_H * (1 + i) }));
    return { entry, nodes: pick(out, ids) };
  }
  for (const [d, col] of Object.entries(columns)) {
    col.forEach((id, i) => {
      out[id] = { x: entry.x + COL_W * (Number(d) + 1), y: entry.y + (i - (col.length - 1) / 2) * ROW_H };
    });
  }
  return { entry, nodes: pick(out, ids) };
}

function pick(all: Record<string, XY>, ids: string[]): Record<string, XY> {
  const o: Record<string, XY> = {};
  for (const id of ids) o[id] = all[id];
  return o;
}

/** The definition with every node's position (and the entry's) stored. */
export function withLayout(def: JourneyDefinition, entry: XY, nodes: Record<string, XY>): JourneyDefinition {
  const round = (p: XY) => ({ x: Math.round(p.x), y: Math.round(p.y) });
  const ids = Object.keys(nodesOf(def));
  const stored: Record<string, XY> = {};
  for (const id of ids) if (nodes[id]) stored[id] = round(nodes[id]);
  return { ...def, [LAYOUT_KEY]: { entry: round(entry), nodes: stored } };
}

// ---- The graph on the canvas ----------------------------------------------------------------

/** One connection on the canvas: `source`'s exit `exit.handle` leads to `target`. */
export interface GraphEdge {
  /** `<source>::<handle>`: stable across renders, and how a removed edge is found again. */
  id: string;
  source: string;
  target: string;
  exit: NodeExit;
  /** How many exits the source has (a lone `next` needs no label). */
  siblings: number;
}

/** A node on the canvas: its definition without the exits (those are edges) and its place. */
export interface GraphNode {
  id: string;
  node: JsonObject;
  position: XY;
}

export interface JourneyGraph {
  entry: XY;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Everything of the definition that is neither a node, the start nor the layout. */
  rest: JsonObject;
}

/** The edges drawn on the canvas: the entry's `start` and every exit that leads to a node. */
export function graphEdges(def: JourneyDefinition): GraphEdge[] {
  const nodes = nodesOf(def);
  const out: GraphEdge[] = [];
  const add = (source: string, exit: NodeExit, siblings: number) => {
    if (!exit.target || !(exit.target in nodes)) return;
    out.push({ id: `${source}::${exit.handle}`, source, target: exit.target, exit, siblings });
  };
  add(ENTRY_ID, { handle: 'start', target: typeof def.start === 'string' ? def.start : '', kind: 'start' }, 1);
  for (const [id, n] of Object.entries(nodes)) {
    const exits = nodeExits(n || {});
    for (const e of exits) add(id, e, exits.length);
  }
  return out;
}

/** Definition → graph: nodes (exits taken out), edges, positions (stored or laid out). */
export function toGraph(def: JourneyDefinition): JourneyGraph {
  const pos = positions(def);
  const edges = graphEdges(def);
  const nodes: GraphNode[] = Object.entries(nodesOf(def)).map(([id, n]) => {
    let bare: JsonObject = n || {};
    for (const e of nodeExits(bare)) if (e.target && e.target in nodesOf(def)) bare = setExit(bare, e.handle, '');
    return { id, node: bare, position: pos.nodes[id] };
  });
  const rest: JsonObject = { ...def };
  delete rest.nodes;
  delete rest.start;
  delete rest[LAYOUT_KEY];
  return { entry: pos.entry, nodes, edges, rest };
}

/** Graph → definition: the nodes with their exits set from the edges, and the layout stored. */
export function fromGraph(g: JourneyGraph): JourneyDefinition {
  const nodes: Record<string, JsonObject> = {};
  for (const n of g.nodes) nodes[n.id] = n.node;
  let start = '';
  for (const e of g.edges) {
    if (e.source === ENTRY_ID) start = e.target;
    else if (nodes[e.source]) nodes[e.source] = setExit(nodes[e.source], e.exit.handle, e.target);
  }
  const def: JourneyDefinition = { ...g.rest, start, nodes } as JourneyDefinition;
  const layout: Record<string, XY> = {};
  for (const n of g.nodes) layout[n.id] = n.position;
  return withLayout(def, g.entry, layout);
}

/** Removes a node and every reference to it. */
export function removeNode(def: JourneyDefinition, id: string): JourneyDefinition {
  const nodes: Record<string, JsonObject> = {};
  for (const [k, n] of Object.entries(nodesOf(def))) {
    if (k === id) continue;
    let m = n;
    for (const e of nodeExits(n)) if (e.target === id) m = setExit(m, e.handle, '');
    nodes[k] = m;
  }
  const out: JourneyDefinition = { ...def, nodes, start: def.start === id ? '' : def.start };
  const l = layoutOf(def);
  if (l.nodes[id]) {
    const rest = { ...l.nodes };
    delete rest[id];
    out[LAYOUT_KEY] = { ...(def[LAYOUT_KEY] || {}), nodes: rest };
  }
  return out;
}

/** Renames a node, keeping the order of the nodes and every reference. */
export function renameNode(def: JourneyDefinition, from: string, to: string): JourneyDefinition {
  if (from === to) return def;
  const nodes: Record<string, JsonObject> = {};
  for (const [k, n] of Object.entries(nodesOf(def))) {
    let m = n;
    for (const e of nodeExits(n)) if (e.target === from) m = setExit(m, e.handle, to);
    nodes[k === from ? to : k] = m;
  }
  const out: JourneyDefinition = { ...def, nodes, start: def.start === from ? to : def.start };
  const l = layoutOf(def);
  if (l.nodes[from]) {
    const rest: Record<string, XY> = {};
    for (const [k, p] of Object.entries(l.nodes)) rest[k === from ? to : k] = p;
    out[LAYOUT_KEY] = { ...(def[LAYOUT_KEY] || {}), nodes: rest };
  }
  return out;
}

export function validNodeId(id: string): boolean {
  return id.length > 0 && id.length <= 64 && /^[A-Za-z0-9_\-]+$/.test(id) && id !== ENTRY_ID && id !== SETTINGS_ID;
}

// ---- Durations -------------------------------------------------------------------------------

export const DURATION_RE = /^[1-9][0-9]*(s|m|h|d)$/;
export type DurationUnit = 's' | 'm' | 'h' | 'd';

export function splitDuration(v: unknown): { n: string; unit: DurationUnit } {
  const m = typeof v === 'string' ? /^(\d*)(s|m|h|d)?$/.exec(v) : null;
  if (!m) return { n: '', unit: 'd' };
  return { n: m[1], unit: (m[2] as DurationUnit) || 'd' };
}

// ---- Problems: what the editor finds before saving, and the server's answer ----------------

export interface Problem {
  /** A node id, ENTRY_ID or SETTINGS_ID. */
  target: string;
  /** The JSON path of the field, when known. */
  field?: string;
  /** A message key of the journeys catalogue (client checks). */
  key?: string;
  vars?: Record<string, string | number>;
  /** The server's own message (server errors). */
  message?: string;
  fromServer?: boolean;
}

/** Where a server error belongs: the node named by `nodes.<id>...`, the entry, or the settings. */
export function fieldTarget(def: JourneyDefinition, field: string | undefined): string {
  if (!field) return SETTINGS_ID;
  let f = field.startsWith('definition.') ? field.slice('definition.'.length) : field;
  if (f === 'definition') f = '';
  if (f.startsWith('nodes.')) {
    const rest = f.slice(6);
    let best = '';
    for (const id of Object.keys(nodesOf(def))) {
      if ((rest === id || rest.startsWith(`${id}.`) || rest.startsWith(`${id}[`)) && id.length > best.length) best = id;
    }
    return best || SETTINGS_ID;
  }
  if (f === 'start' || f === 'entry' || f.startsWith('entry.') || f.startsWith('entry[')) return ENTRY_ID;
  return SETTINGS_ID;
}

const nonEmpty = (v: unknown) => typeof v === 'string' && v.trim().length > 0;

/** Checks that need no server: required fields, unconnected exits, unreachable nodes. */
export function checkDefinition(def: JourneyDefinition): Problem[] {
  const out: Problem[] = [];
  const nodes = nodesOf(def);
  const ids = Object.keys(nodes);
  const p = (target: string, key: string, field?: string, vars?: Record<string, string | number>) => out.push({ target, key, field, vars });

  if (!nonEmpty(def.name)) p(SETTINGS_ID, 'journeys.problem.name', 'name');
  const entry: JsonObject = def.entry && typeof def.entry === 'object' ? def.entry : {};
  switch (entry.type) {
    case 'event':
      if (!nonEmpty(entry.event)) p(ENTRY_ID, 'journeys.problem.entryEvent', 'entry.event');
      break;
    case 'breakpoint':
      if (!nonEmpty(entry.event)) p(ENTRY_ID, 'journeys.problem.entryEvent', 'entry.event');
      if (!nonEmpty(entry.not_followed_by)) p(ENTRY_ID, 'journeys.problem.notFollowedBy', 'entry.not_followed_by');
      if (!DURATION_RE.test(entry.wait ?? '')) p(ENTRY_ID, 'journeys.problem.duration', 'entry.wait', { field: 'wait' });
      if ((entry.count ?? 1) > 1 && !DURATION_RE.test(entry.within ?? '')) p(ENTRY_ID, 'journeys.problem.duration', 'entry.within', { field: 'within' });
      break;
    case 'segment_enter':
    case 'segment_exit':
    case 'schedule':
    case 'once':
      if (!nonEmpty(entry.segment)) p(ENTRY_ID, 'journeys.problem.segment', 'entry.segment');
      if (entry.type === 'once' && !(typeof entry.at === 'number' && entry.at > 0)) p(ENTRY_ID, 'journeys.problem.onceAt', 'entry.at');
      if (entry.type === 'schedule' && !/^\d\d:\d\d$/.test(entry.at ?? '')) p(ENTRY_ID, 'journeys.problem.timeOfDay', 'entry.at');
      break;
    case 'key_date':
      if (!nonEmpty(entry.property)) p(ENTRY_ID, 'journeys.problem.keyDateProperty', 'entry.property');
      break;
    case 'api':
      break;
    default:
      p(ENTRY_ID, 'journeys.problem.entryType', 'entry.type');
  }
  if (ids.length === 0) {
    p(SETTINGS_ID, 'journeys.problem.noNodes', 'nodes');
    return out;
  }
  if (!nonEmpty(def.start) || !(def.start in nodes)) p(ENTRY_ID, 'journeys.problem.start', 'start');

  for (const id of ids) {
    const n = nodes[id] || {};
    const f = (k: string) => `nodes.${id}.${k}`;
    switch (n.type) {
      case 'send':
        if (!nonEmpty(n.channel) && !(Array.isArray(n.channels) && n.channels.length > 0)) p(id, 'journeys.problem.channel', f('channel'));
        if (!nonEmpty(n.template)) p(id, 'journeys.problem.template', f('template'));
        if (n.purpose === 'transactional' && !nonEmpty(n.justification)) p(id, 'journeys.problem.justification', f('justification'));
        break;
      case 'webhook':
        if (!nonEmpty(n.channel)) p(id, 'journeys.problem.channel', f('channel'));
        break;
      case 'task':
        if (!nonEmpty(n.title)) p(id, 'journeys.problem.title', f('title'));
        if (!nonEmpty(n.assign?.property) && !nonEmpty(n.assign?.pool)) p(id, 'journeys.problem.assign', f('assign'));
        if (!DURATION_RE.test(n.sla ?? '')) p(id, 'journeys.problem.duration', f('sla'), { field: 'sla' });
        break;
      case 'wait': {
        const mode = waitMode(n);
        if (mode === 'duration' && !DURATION_RE.test(n.duration ?? '')) p(id, 'journeys.problem.duration', f('duration'), { field: 'duration' });
        if (mode === 'until' && !/^\d\d:\d\d$/.test(n.until?.time ?? '')) p(id, 'journeys.problem.timeOfDay', f('until.time'));
        if (mode === 'event') {
          if (!nonEmpty(n.event)) p(id, 'journeys.problem.waitEvent', f('event'));
          if (!DURATION_RE.test(n.timeout ?? '')) p(id, 'journeys.problem.duration', f('timeout'), { field: 'timeout' });
        }
        break;
      }
      case 'split':
        if (!n.condition || typeof n.condition !== 'object' || splitConditionIncomplete(n.condition)) p(id, 'journeys.problem.condition', f('condition'));
        break;
      case 'ab': {
        const branches = Array.isArray(n.branches) ? n.branches : [];
        if (branches.length < 2) p(id, 'journeys.problem.branches', f('branches'));
        branches.forEach((b: JsonObject, i: number) => {
          if (!nonEmpty(b?.name)) p(id, 'journeys.problem.branchName', `${f('branches')}[${i}].name`, { n: i + 1 });
          if (!(typeof b?.weight === 'number' && b.weight > 0)) p(id, 'journeys.problem.branchWeight', `${f('branches')}[${i}].weight`, { n: i + 1 });
        });
        break;
      }
      case 'update_profile':
        if (!n.set || typeof n.set !== 'object' || Object.keys(n.set).length === 0) p(id, 'journeys.problem.set', f('set'));
        break;
      case 'goal':
      case 'exit':
        break;
      default:
        p(id, 'journeys.problem.nodeType', f('type'));
    }
    for (const e of nodeExits(n)) {
      if (e.optional && !e.target) continue;
      if (!e.target) p(id, 'journeys.problem.unconnected', f(e.handle.startsWith('branch:') ? `branches[${e.handle.slice(7)}].next` : e.handle), { exit: e.kind === 'branch' ? e.name || e.handle : e.kind });
      else if (!(e.target in nodes)) p(id, 'journeys.problem.missingTarget', f(e.handle), { target: e.target });
    }
  }
  // Reachable from the start; an exit reachable from every node.
  if (nonEmpty(def.start) && def.start in nodes) {
    const seen = new Set<string>([def.start]);
    const stack = [def.start as string];
    while (stack.length) {
      const id = stack.pop()!;
      for (const e of nodeExits(nodes[id])) if (e.target in nodes && !seen.has(e.target)) (seen.add(e.target), stack.push(e.target));
    }
    for (const id of ids) if (!seen.has(id)) p(id, 'journeys.problem.unreachable', `nodes.${id}`);
  }
  return out;
}

function splitConditionIncomplete(c: JsonObject): boolean {
  if (Array.isArray(c.all)) return c.all.length === 0 || c.all.some(splitConditionIncomplete);
  if (Array.isArray(c.any)) return c.any.length === 0 || c.any.some(splitConditionIncomplete);
  if (c.not) return splitConditionIncomplete(c.not);
  if ('segment' in c) return !nonEmpty(c.segment);
  if (c.event && typeof c.event === 'object') return !nonEmpty(c.event.property);
  const name = c.profile ?? c.tag;
  return !nonEmpty(name);
}

// ---- Counters from the report ----------------------------------------------------------------

/** The counters worth drawing on a node, in a stable order; suppressions summed. */
export function nodeCounters(counters: Record<string, number> | undefined): { key: string; value: number; detail?: Record<string, number> }[] {
  if (!counters) return [];
  const order = ['entered', 'waiting', 'sent', 'delivered', 'failed', 'clicked', 'deferred', 'suppressed', 'yes', 'no', 'event', 'timeout', 'tasks', 'completed', 'goal'];
  const suppressed: Record<string, number> = {};
  let suppressedTotal = 0;
  const plain: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) {
    if (k.startsWith('suppressed.')) {
      suppressed[k.slice(11)] = v;
      suppressedTotal += v;
    } else plain[k] = v;
  }
  const out: { key: string; value: number; detail?: Record<string, number> }[] = [];
  for (const k of order) {
    if (k === 'suppressed') {
      if (suppressedTotal > 0) out.push({ key: k, value: suppressedTotal, detail: suppressed });
    } else if (plain[k] !== undefined) out.push({ key: k, value: plain[k] });
  }
  for (const [k, v] of Object.entries(plain)) if (!order.includes(k)) out.push({ key: k, value: v });
  return out;
}

// ---- Times in a time zone ------------------------------------------------------------------

function zoneOffsetMs(ms: number, tz: string | undefined): number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute, parts.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** "YYYY-MM-DDTHH:MM" wall time in `tz` → ms since the epoch (NaN when not a time). */
export function wallToMs(wall: string, tz: string | undefined): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(wall);
  if (!m) return NaN;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  try {
    let ms = guess - zoneOffsetMs(guess, tz);
    ms = guess - zoneOffsetMs(ms, tz);
    return ms;
  } catch {
    return guess;
  }
}

/** ms → "YYYY-MM-DDTHH:MM" wall time in `tz` (for datetime-local inputs). */
export function msToWall(ms: unknown, tz: string | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return '';
  let off = 0;
  try {
    off = zoneOffsetMs(ms, tz);
  } catch {
    off = 0;
  }
  return new Date(ms + off).toISOString().slice(0, 16);
}

/** Today (or `days` from today) as YYYY-MM-DD in `tz`. */
export function dayInZone(days: number, tz: string | undefined): string {
  return msToWall(Date.now() + days * 86400000, tz).slice(0, 10);
}

/** A value typed by what it looks like: numbers and true/false as such, the rest as text. */
export function typedValue(text: string): string | number | boolean {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return text;
}

export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(valueText).join(', ');
  return String(v);
}

export function stableJson(v: unknown): string {
  return JSON.stringify(v ?? null);
}
