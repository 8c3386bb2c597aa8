// The rule builder's model: rule JSON → builder tree → rule JSON, values typed by the schema,
// nested all / any / not, and constructs the builder cannot show kept as raw JSON. The corpus is
// every rule in examples/audience/*.json (segments, and the values of rule tags) and the
// segments bundled with examples/journeys/*.json, read from disk at transform time.
import { describe, expect, it } from 'vitest';
import type { Rule } from '../../api/audience';
import {
  BuildError,
  fromRule,
  newNode,
  rootFromRule,
  toRule,
  type BNode,
  type DidNode,
  type GroupNode,
  type ProfileNode,
  type Types,
} from './ruleModel';

type Json = Record<string, unknown>;

const audience = import.meta.glob<Json>('../../../../examples/audience/*.json', { eager: true, import: 'default' });
const journeys = import.meta.glob<{ segments?: { name: string; rule: Rule }[] }>('../../../../examples/journeys/*.json', {
  eager: true,
  import: 'default',
});

/** Every rule of the examples, named `<file>` or `<file> value <v>`. */
function exampleRules(): [string, Rule][] {
  const out: [string, Rule][] = [];
  for (const [path, doc] of Object.entries(audience)) {
    const file = path.replace(/^.*\//, '');
    if (doc.rule) out.push([file, doc.rule as Rule]);
    if (Array.isArray(doc.values)) for (const v of doc.values as Json[]) if (v.rule) out.push([`${file} value ${v.value}`, v.rule as Rule]);
  }
  for (const [path, doc] of Object.entries(journeys)) {
    for (const s of doc.segments ?? []) out.push([`${path.replace(/^.*\//, '')} segment ${s.name}`, s.rule]);
  }
  return out;
}

/** The demo schema: what the examples' profile properties, tags and event properties are. */
const SCHEMA: { profile: Record<string, string>; tag: Record<string, string>; event: Record<string, string> } = {
  profile: {
    aum: 'NUMBER',
    total_assets: 'NUMBER',
    risk_level: 'STRING',
    is_vip: 'BOOL',
    installment_eligible: 'BOOL',
    card_status: 'STRING',
    account_status: 'STRING',
    advisor_id: 'STRING',
    zip: 'STRING',
  },
  tag: { aum_tier: 'STRING', subscriptions_30d: 'NUMBER' },
  event: { amount: 'NUMBER', outcome: 'STRING', fund_type: 'STRING' },
};
const types: Types = {
  profile: (n) => SCHEMA.profile[n],
  tag: (n) => SCHEMA.tag[n],
  eventProperty: (n) => SCHEMA.event[n],
};
const untyped: Types = { profile: () => undefined, tag: () => undefined, eventProperty: () => undefined };

const roundTrip = (rule: unknown, t: Types = types) => toRule(rootFromRule(rule), t);

function buildError(f: () => unknown): BuildError {
  try {
    f();
  } catch (e) {
    if (e instanceof BuildError) return e;
    throw e;
  }
  throw new Error('no BuildError');
}

describe('example rules round-trip through the builder', () => {
  const rules = exampleRules();

  it('finds the example rules', () => {
    // 4 segments and the 2 rule values of aum_tier in examples/audience, and the journeys' segments.
    expect(rules.filter(([n]) => !n.includes(' segment ')).length).toBe(6);
    expect(rules.length).toBeGreaterThanOrEqual(13);
  });

  it.each(rules)('%s', (_name, rule) => {
    const tree = rootFromRule(rule);
    // Nothing of the examples needs the raw JSON fallback: the builder shows all of it.
    const kinds: string[] = [];
    const walk = (n: BNode) => (kinds.push(n.kind), n.kind === 'group' && n.children.forEach(walk));
    walk(tree);
    expect(kinds).not.toContain('raw');
    expect(toRule(tree, types)).toEqual(rule);
  });
});

describe('rule JSON → builder', () => {
  it('reads nested all / any / not', () => {
    const root = rootFromRule({
      any: [{ not: { all: [{ profile: 'aum', op: '>=', value: 1 }, { tag: 'aum_tier', op: 'in', value: ['A', 'B'] }] } }, { segment: 'vip' }],
    });
    expect(root).toMatchObject({ kind: 'group', op: 'any', not: false });
    const [inner, seg] = root.children as [GroupNode, BNode];
    expect(inner).toMatchObject({ kind: 'group', op: 'all', not: true });
    expect(inner.children[0]).toMatchObject({ kind: 'profile', property: 'aum', op: '>=', value: '1' });
    expect(inner.children[1]).toMatchObject({ kind: 'tag', property: 'aum_tier', op: 'in', value: 'A, B' });
    expect(seg).toMatchObject({ kind: 'segment', segment: 'vip' });
  });

  it('wraps a single condition in a root group, and unwraps it again', () => {
    const rule = { not: { profile: 'risk_level', op: '=', value: 'C1' } };
    const root = rootFromRule(rule);
    expect(root).toMatchObject({ kind: 'group', op: 'all', not: false });
    expect(root.children).toHaveLength(1);
    expect(root.children[0]).toMatchObject({ kind: 'profile', not: true });
    expect(toRule(root, types)).toEqual(rule);
  });

  it('a negated root group stays a group inside the root', () => {
    const rule = { not: { any: [{ segment: 'a' }, { segment: 'b' }] } };
    const root = rootFromRule(rule);
    expect(root.not).toBe(false);
    expect(root.children[0]).toMatchObject({ kind: 'group', op: 'any', not: true });
    expect(roundTrip(rule)).toEqual(rule);
  });

  it('a double negation cancels out', () => {
    const rule = { profile: 'aum', op: '>', value: 5 };
    expect(fromRule({ not: { not: rule } })).toMatchObject({ kind: 'profile', not: false });
    expect(roundTrip({ not: { not: rule } })).toEqual(rule);
  });

  it('reads did / did_not with where, count, sum and windows', () => {
    const did = fromRule({
      did: 'subscribe_fund',
      where: [{ property: 'amount', op: 'between', value: [100, 200] }],
      sum: { property: 'amount', op: '>=', value: 5000 },
      within: { from: '2026-01-01', to: '2026-01-31' },
    }) as DidNode;
    expect(did).toMatchObject({
      kind: 'did',
      did: true,
      event: 'subscribe_fund',
      measure: 'sum',
      sumProperty: 'amount',
      cmpOp: '>=',
      cmpValue: '5000',
      within: { mode: 'range', from: '2026-01-01', to: '2026-01-31' },
    });
    expect(did.where).toEqual([{ property: 'amount', op: 'between', value: '100', value2: '200' }]);
    expect(fromRule({ did_not: 'login' })).toMatchObject({ kind: 'did', did: false, within: { mode: 'all' } });
  });

  it('keeps what the builder cannot show as raw JSON, and gives it back unchanged', () => {
    const unknown: unknown[] = [
      { rfm: { recency: 3 } }, // an unknown condition
      { profile: 'aum', op: 'matches', value: 'x' }, // an unknown operator
      { did: 'x', count: { op: 'in', value: [1, 2] } }, // an operator counts do not take
      { did: 'x', within: { since: 'signup' } }, // an unknown window
      { did: 'x', where: { property: 'a' } }, // where is not a list
      { sequence: [{ event: 'a' }, { name: 'b' }] }, // a step without an event
      { all: [{ segment: 'a' }], any: [{ segment: 'b' }] }, // two combinators in one object
    ];
    for (const rule of unknown) {
      const n = fromRule(rule);
      expect(n.kind, JSON.stringify(rule)).toBe('raw');
      expect(roundTrip(rule)).toEqual(rule);
    }
    // Inside a group, only the unknown part is raw; the rest is editable.
    const mixed = { all: [{ profile: 'aum', op: '>=', value: 1 }, { not: { rfm: { recency: 3 } } }] };
    const root = rootFromRule(mixed);
    expect(root.children.map((c) => `${c.kind}${c.not ? '!' : ''}`)).toEqual(['profile', 'raw!']);
    expect(roundTrip(mixed)).toEqual(mixed);
  });

  it('a raw node with broken JSON cannot be built', () => {
    const raw = newNode('raw');
    if (raw.kind !== 'raw') throw new Error('not raw');
    raw.json = '{"profile": ';
    expect(buildError(() => toRule(raw, types)).reason).toBe('segments.err.json');
    raw.json = '[1, 2]';
    expect(buildError(() => toRule(raw, types)).reason).toBe('segments.err.json');
  });
});

describe('builder → rule JSON, typed by the schema', () => {
  const profile = (property: string, op: ProfileNode['op'], value: string, value2 = ''): ProfileNode => ({
    ...(newNode('profile') as ProfileNode),
    property,
    op,
    value,
    value2,
  });

  it('types values by the property type', () => {
    expect(toRule(profile('aum', '>=', ' 100000 '), types)).toEqual({ profile: 'aum', op: '>=', value: 100000 });
    expect(toRule(profile('zip', '=', '100000'), types)).toEqual({ profile: 'zip', op: '=', value: '100000' });
    expect(toRule(profile('is_vip', '=', 'true'), types)).toEqual({ profile: 'is_vip', op: '=', value: true });
    expect(toRule(profile('is_vip', '=', '0'), types)).toEqual({ profile: 'is_vip', op: '=', value: false });
    // Unknown to the schema: numbers by their look, the rest as text.
    expect(toRule(profile('new_prop', '=', '-1.5e3'), untyped)).toEqual({ profile: 'new_prop', op: '=', value: -1500 });
    expect(toRule(profile('new_prop', '=', 'true'), untyped)).toEqual({ profile: 'new_prop', op: '=', value: 'true' });
  });

  it('splits lists on commas (also full-width) and new lines, and types every item', () => {
    expect(toRule(profile('aum', 'in', '1, 2，3\n4,,'), types)).toEqual({ profile: 'aum', op: 'in', value: [1, 2, 3, 4] });
    expect(toRule(profile('risk_level', 'not_in', 'C1,C2'), types)).toEqual({ profile: 'risk_level', op: 'not_in', value: ['C1', 'C2'] });
    expect(toRule(profile('aum', 'between', '10', '20'), types)).toEqual({ profile: 'aum', op: 'between', value: [10, 20] });
  });

  it('sends no value for is_set / not_set', () => {
    expect(toRule(profile('advisor_id', 'is_set', 'ignored'), types)).toEqual({ profile: 'advisor_id', op: 'is_set' });
  });

  it('types event property conditions, with or without the event. prefix', () => {
    const did = fromRule({ did: 'subscribe_fund' }) as DidNode;
    did.where = [
      { property: 'amount', op: '>', value: '10000', value2: '' },
      { property: 'event.amount', op: '<', value: '99', value2: '' },
      { property: 'outcome', op: '=', value: '1', value2: '' },
    ];
    expect(toRule(did, types)).toEqual({
      did: 'subscribe_fund',
      where: [
        { property: 'amount', op: '>', value: 10000 },
        { property: 'event.amount', op: '<', value: 99 },
        { property: 'outcome', op: '=', value: '1' },
      ],
    });
  });

  it('leaves out the default count (at least once) and writes any other', () => {
    expect(roundTrip({ did: 'x', count: { op: '>=', value: 1 } })).toEqual({ did: 'x' });
    expect(roundTrip({ did: 'x', count: { op: 'between', value: [2, 5] } })).toEqual({ did: 'x', count: { op: 'between', value: [2, 5] } });
  });

  it('says which condition is incomplete and why', () => {
    const rule = { all: [{ profile: 'aum', op: '>=', value: 1 }, { any: [{ segment: 'a' }, { profile: 'aum', op: '>', value: 2 }] }] };
    const root = rootFromRule(rule);
    ((root.children[1] as GroupNode).children[1] as ProfileNode).value = 'lots';
    const e = buildError(() => toRule(root, types));
    expect(e.path).toBe('2.2');
    expect(e.reason).toBe('segments.err.number');

    ((root.children[1] as GroupNode).children[1] as ProfileNode).value = ' ';
    expect(buildError(() => toRule(root, types)).reason).toBe('segments.err.value');
    expect(buildError(() => toRule(profile('is_vip', '=', 'yes'), types)).reason).toBe('segments.err.bool');
    // A missing name: the message says what to choose (a profile property, a tag, an event property).
    expect(buildError(() => toRule(profile('', '=', '1'), types)).reason).toBe('segments.err.profile');
    expect(buildError(() => toRule({ ...profile('', '=', '1'), kind: 'tag' }, types)).reason).toBe('segments.err.tag');
    const did = fromRule({ did: 'x' }) as DidNode;
    did.where = [{ property: ' ', op: '=', value: '1', value2: '' }];
    expect(buildError(() => toRule(did, types)).reason).toBe('segments.err.property');
  });

  it('an empty group or a bad window cannot be built', () => {
    expect(buildError(() => toRule(newNode('group'), types))).toMatchObject({ path: '0', reason: 'segments.err.emptyGroup' });
    const did = newNode('did') as DidNode;
    did.event = 'login';
    did.within = { mode: 'last', last: 'a month', from: '', to: '' };
    expect(buildError(() => toRule(did, types)).reason).toBe('segments.err.window');
    did.within = { mode: 'range', last: '', from: '2026-01-01', to: '' };
    expect(buildError(() => toRule(did, types)).reason).toBe('segments.err.range');
    did.within = { mode: 'last', last: '2w', from: '', to: '' };
    expect(toRule(did, types)).toEqual({ did: 'login', within: { last: '2w' } });
  });

  it('a sequence needs two steps with events', () => {
    const seq = newNode('sequence');
    if (seq.kind !== 'sequence') throw new Error('not a sequence');
    expect(buildError(() => toRule(seq, types)).reason).toBe('segments.err.event');
    seq.steps[0].event = 'compare_funds';
    seq.steps[1].event = 'subscribe_fund';
    seq.steps[1].where = [{ property: 'amount', op: '>=', value: '1000', value2: '' }];
    expect(toRule(seq, types)).toEqual({
      sequence: [{ event: 'compare_funds' }, { event: 'subscribe_fund', where: [{ property: 'amount', op: '>=', value: 1000 }] }],
      window: '1d',
      within: { last: '30d' },
    });
    seq.steps.pop();
    expect(buildError(() => toRule(seq, types)).reason).toBe('segments.err.steps');
  });
});
