// The journey canvas model: definition ↔ graph, automatic layout, the checks made before the
// server is asked, and where a server error belongs. The example journeys of the repository
// (examples/journeys/*.json, read from disk at transform time) are the round-trip corpus.
import { describe, expect, it } from 'vitest';
import type { JourneyDefinition, JsonObject } from '../../api/journeys';
import {
  COL_W,
  ENTRY_ID,
  LAYOUT_KEY,
  NODE_H,
  NODE_W,
  ROW_H,
  SETTINGS_ID,
  checkDefinition,
  fieldTarget,
  freeSpot,
  fromGraph,
  graphEdges,
  nodeExits,
  nodesOf,
  positions,
  removeNode,
  renameNode,
  setExit,
  toGraph,
  visibleCentre,
  withLayout,
  type Problem,
} from './model';

const examples = import.meta.glob<{ journey: JourneyDefinition }>('../../../../examples/journeys/*.json', {
  eager: true,
  import: 'default',
});
const exampleNames = Object.keys(examples).map((p) => p.replace(/^.*\//, ''));

const withoutLayout = (def: JourneyDefinition): JourneyDefinition => {
  const out = { ...def };
  delete out[LAYOUT_KEY];
  return out;
};
const deepCopy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const keys = (problems: Problem[]) => problems.map((p) => `${p.target} ${p.key} ${p.field ?? ''}`).sort();

/** A small valid journey: event entry → split → (yes) send → exit, (no) exit. */
function sample(): JourneyDefinition {
  return {
    name: 'sample',
    entry: { type: 'event', event: 'deposit' },
    start: 'check',
    nodes: {
      check: { type: 'split', condition: { profile: 'risk_level', op: '=', value: 'C3' }, yes: 'send_1', no: 'done' },
      send_1: { type: 'send', channel: 'sms', template: 'hello', next: 'done' },
      done: { type: 'exit' },
    },
  };
}

describe('example journeys round-trip through the graph', () => {
  it('finds the example files', () => {
    expect(exampleNames.length).toBeGreaterThanOrEqual(12);
    expect(exampleNames).toContain('fund_auto_invest.json');
  });

  it.each(exampleNames)('%s: definition → graph → definition is the same definition', (name) => {
    const def = examples[Object.keys(examples).find((p) => p.endsWith(`/${name}`))!].journey;
    const before = deepCopy(def);
    const graph = toGraph(def);
    // Every node is on the canvas, at a finite position; exits that lead to nodes became edges.
    expect(graph.nodes.map((n) => n.id)).toEqual(Object.keys(nodesOf(def)));
    for (const n of graph.nodes) {
      expect(Number.isFinite(n.position.x) && Number.isFinite(n.position.y)).toBe(true);
      for (const e of nodeExits(n.node)) expect(e.target in nodesOf(def)).toBe(false);
    }
    const connected = Object.values(nodesOf(def)).flatMap((n) => nodeExits(n).filter((e) => e.target in nodesOf(def)));
    expect(graph.edges).toHaveLength(connected.length + 1);
    expect(graph.edges[0]).toMatchObject({ source: ENTRY_ID, target: def.start });

    const back = fromGraph(graph);
    expect(back[LAYOUT_KEY]).toBeDefined();
    expect(Object.keys(back[LAYOUT_KEY].nodes)).toEqual(Object.keys(nodesOf(def)));
    expect(withoutLayout(back)).toEqual(def);
    // The conversion does not change what it was given.
    expect(def).toEqual(before);
  });

  it.each(exampleNames)('%s: passes the client checks', (name) => {
    const def = examples[Object.keys(examples).find((p) => p.endsWith(`/${name}`))!].journey;
    expect(checkDefinition(def)).toEqual([]);
  });

  it('keeps stored positions and exits that lead nowhere known', () => {
    const def = withLayout(sample(), { x: 5, y: 6 }, { check: { x: 100.4, y: 200.6 }, send_1: { x: 300, y: 0 }, done: { x: 600, y: 10 } });
    def.nodes.send_1.next = 'ghost';
    def.extra = { kept: [1, 2] };
    const g = toGraph(def);
    expect(g.entry).toEqual({ x: 5, y: 6 });
    expect(g.nodes.find((n) => n.id === 'check')!.position).toEqual({ x: 100, y: 201 });
    expect(g.nodes.find((n) => n.id === 'send_1')!.node.next).toBe('ghost');
    expect(g.edges.map((e) => e.id)).toEqual([`${ENTRY_ID}::start`, 'check::yes', 'check::no']);
    expect(g.rest.extra).toEqual({ kept: [1, 2] });
    expect(fromGraph(g)).toEqual(def);
  });

  it('a new edge in the graph becomes the exit in the definition', () => {
    const def = sample();
    delete def.nodes.send_1.next;
    const g = toGraph(def);
    g.edges.push({ id: 'send_1::next', source: 'send_1', target: 'done', exit: { handle: 'next', target: 'done', kind: 'next' }, siblings: 1 });
    expect(withoutLayout(fromGraph(g))).toEqual(sample());
  });
});

describe('graphEdges', () => {
  it('labels exits and skips unconnected or dangling ones', () => {
    const def: JourneyDefinition = {
      ...sample(),
      nodes: {
        ...sample().nodes,
        ab_1: { type: 'ab', branches: [{ name: 'A', weight: 50, next: 'done' }, { name: 'B', weight: 50 }] },
        wait_1: { type: 'wait', event: 'login', timeout: '1d', next: 'nowhere', timeout_next: 'done' },
      },
    };
    const edges = graphEdges(def);
    expect(edges.map((e) => `${e.id}>${e.target}/${e.exit.kind}/${e.siblings}`)).toEqual([
      `${ENTRY_ID}::start>check/start/1`,
      'check::yes>send_1/yes/2',
      'check::no>done/no/2',
      'send_1::next>done/next/1',
      'ab_1::branch:0>done/branch/2',
      'wait_1::timeout_next>done/timeout/2',
    ]);
  });

  it('has no start edge while the start is not a node', () => {
    expect(graphEdges({ ...sample(), start: '' }).some((e) => e.source === ENTRY_ID)).toBe(false);
    expect(graphEdges({ ...sample(), start: 'ghost' }).some((e) => e.source === ENTRY_ID)).toBe(false);
  });
});

describe('automatic layout', () => {
  it('puts each step one column further right, branches centred on the entry row', () => {
    const p = positions(sample());
    expect(p.entry).toEqual({ x: 0, y: 0 });
    expect(p.nodes.check).toEqual({ x: COL_W, y: 0 });
    // send_1 and done are both one step after the split: same column, centred.
    expect(p.nodes.send_1).toEqual({ x: 2 * COL_W, y: -ROW_H / 2 });
    expect(p.nodes.done).toEqual({ x: 2 * COL_W, y: ROW_H / 2 });
  });

  it('puts unreachable nodes in a column after the last', () => {
    const def = sample();
    def.nodes.lonely = { type: 'exit' };
    expect(positions(def).nodes.lonely.x).toBe(3 * COL_W);
  });

  it('places a node without a stored position below the stored ones', () => {
    const def = withLayout(sample(), { x: 0, y: 0 }, { check: { x: 10, y: 20 }, send_1: { x: 300, y: 400 }, done: { x: 500, y: -50 } });
    def.nodes.extra = { type: 'exit' };
    const p = positions(def);
    expect(p.nodes.check).toEqual({ x: 10, y: 20 });
    expect(p.nodes.extra.y).toBe(400 + ROW_H);
  });

  it('ignores stored positions that are not numbers', () => {
    const def = { ...sample(), [LAYOUT_KEY]: { entry: { x: 'a', y: 0 }, nodes: { check: { x: NaN, y: 1 } } } };
    const p = positions(def);
    expect(p.entry).toEqual({ x: 0, y: 0 });
    expect(p.nodes.check).toEqual({ x: COL_W, y: 0 });
  });
});

describe('editing helpers', () => {
  it('setExit connects and disconnects, branches by index', () => {
    const n: JsonObject = { type: 'ab', branches: [{ name: 'A', weight: 1, next: 'x' }, { name: 'B', weight: 1 }] };
    expect(setExit(n, 'branch:1', 'y').branches[1].next).toBe('y');
    expect(n.branches[1].next).toBeUndefined();
    expect(setExit({ type: 'send', next: 'a' }, 'next', '')).toEqual({ type: 'send' });
  });

  it('removeNode drops every reference, the start and the stored position', () => {
    const def = removeNode(withLayout(sample(), { x: 0, y: 0 }, positions(sample()).nodes), 'done');
    expect(Object.keys(def.nodes)).toEqual(['check', 'send_1']);
    expect(def.nodes.check.no).toBeUndefined();
    expect(def.nodes.send_1.next).toBeUndefined();
    expect(Object.keys(def[LAYOUT_KEY].nodes)).toEqual(['check', 'send_1']);
    expect(removeNode(sample(), 'check').start).toBe('');
  });

  it('renameNode keeps the order and every reference', () => {
    const def = renameNode(sample(), 'send_1', 'greet');
    expect(Object.keys(def.nodes)).toEqual(['check', 'greet', 'done']);
    expect(def.nodes.check.yes).toBe('greet');
    expect(renameNode(sample(), 'check', 'first').start).toBe('first');
  });
});

describe('live validation', () => {
  it('a valid journey has no problems', () => {
    expect(checkDefinition(sample())).toEqual([]);
  });

  it('reports what a new journey lacks', () => {
    expect(keys(checkDefinition({ name: '', entry: { type: 'event', event: '' }, start: '', nodes: {} }))).toEqual([
      `${ENTRY_ID} journeys.problem.entryEvent entry.event`,
      `${SETTINGS_ID} journeys.problem.name name`,
      `${SETTINGS_ID} journeys.problem.noNodes nodes`,
    ]);
  });

  it('reports missing fields on the node, with the JSON path of the field', () => {
    const def = sample();
    def.nodes.send_1 = { type: 'send', next: 'done' };
    def.nodes.check.condition = { profile: '', op: '=', value: '' };
    expect(keys(checkDefinition(def))).toEqual([
      'check journeys.problem.condition nodes.check.condition',
      'send_1 journeys.problem.channel nodes.send_1.channel',
      'send_1 journeys.problem.template nodes.send_1.template',
    ]);
  });

  it('reports unconnected exits, exits to unknown nodes and unreachable nodes', () => {
    const def = sample();
    delete def.nodes.check.no;
    def.nodes.send_1.next = 'ghost';
    def.nodes.ab_1 = { type: 'ab', branches: [{ name: 'A', weight: 50, next: 'done' }, { name: 'B', weight: 50 }] };
    def.nodes.goal_1 = { type: 'goal' }; // a goal's next is optional
    const problems = checkDefinition(def);
    expect(keys(problems)).toEqual([
      'ab_1 journeys.problem.unconnected nodes.ab_1.branches[1].next',
      'ab_1 journeys.problem.unreachable nodes.ab_1',
      'check journeys.problem.unconnected nodes.check.no',
      // send_1 leads nowhere known and check has no "no" exit: nothing leads to done.
      'done journeys.problem.unreachable nodes.done',
      'goal_1 journeys.problem.unreachable nodes.goal_1',
      'send_1 journeys.problem.missingTarget nodes.send_1.next',
    ]);
    expect(problems.find((p) => p.field === 'nodes.check.no')!.vars).toEqual({ exit: 'no' });
    expect(problems.find((p) => p.field === 'nodes.ab_1.branches[1].next')!.vars).toEqual({ exit: 'B' });
  });

  it('checks durations and entry fields by entry type', () => {
    const def = sample();
    def.entry = { type: 'breakpoint', event: 'view', not_followed_by: '', wait: '30 minutes', count: 3 };
    def.nodes.send_1 = { type: 'wait', duration: '0d', next: 'done' };
    expect(keys(checkDefinition(def))).toEqual([
      `${ENTRY_ID} journeys.problem.duration entry.wait`,
      `${ENTRY_ID} journeys.problem.duration entry.within`,
      `${ENTRY_ID} journeys.problem.notFollowedBy entry.not_followed_by`,
      'send_1 journeys.problem.duration nodes.send_1.duration',
    ]);
    expect(keys(checkDefinition({ ...sample(), entry: { type: 'sometimes' }, start: 'ghost' }))).toEqual([
      `${ENTRY_ID} journeys.problem.entryType entry.type`,
      `${ENTRY_ID} journeys.problem.start start`,
    ]);
  });
});

describe('server errors on the canvas', () => {
  const def = { ...sample(), nodes: { ...sample().nodes, send_10: { type: 'send', channel: 'sms', template: 't' } } };

  it('maps a node field to its node', () => {
    expect(fieldTarget(def, 'nodes.send_1.template')).toBe('send_1');
    expect(fieldTarget(def, 'definition.nodes.send_1.template')).toBe('send_1');
    expect(fieldTarget(def, 'nodes.send_10.template')).toBe('send_10');
    expect(fieldTarget(def, 'nodes.check')).toBe('check');
    expect(fieldTarget(def, 'nodes.check.condition.all[0].profile')).toBe('check');
  });

  it('maps entry fields to the entry and everything else to the settings', () => {
    expect(fieldTarget(def, 'entry.event')).toBe(ENTRY_ID);
    expect(fieldTarget(def, 'start')).toBe(ENTRY_ID);
    expect(fieldTarget(def, 'definition.entry')).toBe(ENTRY_ID);
    expect(fieldTarget(def, 'name')).toBe(SETTINGS_ID);
    expect(fieldTarget(def, undefined)).toBe(SETTINGS_ID);
    expect(fieldTarget(def, 'nodes.ghost.template')).toBe(SETTINGS_ID);
    expect(fieldTarget(def, 'nodes.send_1x')).toBe(SETTINGS_ID);
  });
});

describe('placing a step added from the palette', () => {
  const win = { width: 1400, height: 1000 };

  it('aims at the middle of the part of the canvas on screen', () => {
    // Fully visible.
    expect(visibleCentre({ left: 400, top: 200, right: 1200, bottom: 880 }, win)).toEqual({ x: 800, y: 540 });
    // The page scrolled down: the top of the canvas is above the window.
    expect(visibleCentre({ left: 400, top: -300, right: 1200, bottom: 380 }, win)).toEqual({ x: 800, y: 190 });
    // Below the window's bottom edge, and under a 52-pixel header covering the top.
    expect(visibleCentre({ left: 400, top: 700, right: 1200, bottom: 1380 }, win)).toEqual({ x: 800, y: 850 });
    expect(visibleCentre({ left: 400, top: 0, right: 1200, bottom: 680 }, win, 52)).toEqual({ x: 800, y: 366 });
    // Not on screen at all.
    expect(visibleCentre({ left: 400, top: -900, right: 1200, bottom: -220 }, win)).toBeNull();
  });

  it('keeps a free spot, else moves to the nearest free one', () => {
    expect(freeSpot({ x: 300, y: 100 }, [{ x: 0, y: 0 }])).toEqual({ x: 300, y: 100 });
    const below = freeSpot({ x: 300, y: 100 }, [{ x: 310, y: 110 }]);
    expect(below.x).toBe(300);
    expect(Math.abs(below.y - 110)).toBeGreaterThanOrEqual(NODE_H);
    // A full column: the next column to the right.
    const column = Array.from({ length: 12 }, (_, i) => ({ x: 300, y: 100 + (i - 6) * (NODE_H + 20) }));
    const right = freeSpot({ x: 300, y: 100 }, column);
    expect(right.x - 300).toBeGreaterThanOrEqual(NODE_W);
  });
});
