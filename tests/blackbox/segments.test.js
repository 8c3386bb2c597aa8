'use strict';
// Black-box: tags and segments (docs/segments.md) on a handful of people whose answers are
// worked out by hand below — the example rule, realtime membership with
// $segment_enter, refresh agreeing with the realtime state, static segments from CSV and from a
// drill-down, set algebra, paging and CSV export, insight (TGI), tag kinds and snapshots, the
// user read API's tags and segments, and errors that name their field.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, waitFor, uniqueName, BIN } = require('../lib/server');

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

const base = (p) => `/api/v1/projects/${encodeURIComponent(p)}`;
const DAY = 86400000;
function assertError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.body.error.field, field, r.text);
}

// Six customers. Amounts and days are chosen so that each fails the example rule for one
// reason only:
//   u1 aum 600k, BuyFund 20k ×2 (1 and 2 days ago), risk C3          → member
//   u2 aum 600k, BuyFund 20k ×2, risk C1                               → out (risk tag)
//   u3 aum 400k, BuyFund 50k ×3, risk C4                               → out (aum)
//   u4 aum 900k, BuyFund 20k ×1 and 5k ×1, risk C3                     → out (one big buy)
//   u5 aum 800k, BuyFund 20k 3 days ago and 40 days ago, risk C5       → out (window)
//   u6 aum 700k, BuyFund 15k ×2, no risk tag                           → member
async function loadPeople(p) {
  const now = Date.now();
  let seq = 0;
  const ev = (user, event, daysAgo, properties = {}) => ({
    type: 'track', event, distinct_id: user, time: now - daysAgo * DAY - 3600000, _track_id: ++seq, properties,
  });
  const profile = (user, properties) => ({ type: 'profile_set', distinct_id: user, time: now - 50 * DAY, _track_id: ++seq, properties });
  const records = [
    profile('u1', { aum: 600000, city: 'Shanghai' }), profile('u2', { aum: 600000, city: 'Shanghai' }),
    profile('u3', { aum: 400000, city: 'Beijing' }), profile('u4', { aum: 900000, city: 'Beijing' }),
    profile('u5', { aum: 800000, city: 'Shenzhen' }), profile('u6', { aum: 700000, city: 'Shanghai' }),
    ev('u1', 'BuyFund', 1, { amount: 20000, fund_type: 'bond' }), ev('u1', 'BuyFund', 2, { amount: 20000, fund_type: 'bond' }),
    ev('u2', 'BuyFund', 1, { amount: 20000, fund_type: 'stock' }), ev('u2', 'BuyFund', 2, { amount: 20000, fund_type: 'stock' }),
    ev('u3', 'BuyFund', 1, { amount: 50000, fund_type: 'bond' }), ev('u3', 'BuyFund', 2, { amount: 50000, fund_type: 'stock' }),
    ev('u3', 'BuyFund', 3, { amount: 50000, fund_type: 'stock' }),
    ev('u4', 'BuyFund', 1, { amount: 20000, fund_type: 'money' }), ev('u4', 'BuyFund', 2, { amount: 5000, fund_type: 'money' }),
    ev('u5', 'BuyFund', 3, { amount: 20000, fund_type: 'bond' }), ev('u5', 'BuyFund', 40, { amount: 20000, fund_type: 'bond' }),
    ev('u6', 'BuyFund', 4, { amount: 15000, fund_type: 'bond' }), ev('u6', 'BuyFund', 5, { amount: 15000, fund_type: 'stock' }),
    ev('u1', 'ViewFund', 3), ev('u1', 'ReadArticle', 2), ev('u3', 'ReadArticle', 1), ev('u6', 'ViewFund', 6),
  ];
  const loaded = await srv.records(p, records);
  assert.equal(loaded.status, 200, loaded.text);
  assert.equal(loaded.body.accepted, records.length, loaded.text);
  const tag = await srv.api('POST', `${base(p)}/tags`, {
    name: 'risk_tier', display_name: '风险等级', category: '风险/适当性', kind: 'imported', value_type: 'STRING', owner: 'compliance',
  });
  assert.equal(tag.status, 201, tag.text);
  const imported = await srv.api('POST', `${base(p)}/tags/${tag.body.id}/values`,
    'distinct_id,value\nu1,C3\nu2,C1\nu3,C4\nu4,C3\nu5,C5\nghost,C1\n', { headers: { 'Content-Type': 'text/csv' } });
  assert.equal(imported.status, 200, imported.text);
  assert.equal(imported.body.imported, 5, imported.text);
  assert.equal(imported.body.unmatched, 1, imported.text);
  assert.deepEqual(imported.body.unmatched_examples, ['ghost']);
  return { now, nextSeq: () => ++seq };
}

const exampleRule = {
  all: [
    { profile: 'aum', op: '>=', value: 500000 },
    { did: 'BuyFund', where: [{ property: 'amount', op: '>', value: 10000 }], count: { op: '>=', value: 2 }, within: { last: '30d' } },
    { not: { tag: 'risk_tier', op: 'in', value: ['C1', 'C2'] } },
  ],
};

async function members(p, id) {
  const r = await srv.api('GET', `${base(p)}/segments/${id}/users?limit=100`);
  assert.equal(r.status, 200, r.text);
  return r.body.users.map((u) => u.distinct_id).sort();
}

test('the example rule, realtime entry with $segment_enter, refresh agrees', async () => {
  const p = uniqueName('seg');
  await srv.createProject(p);
  const { now, nextSeq } = await loadPeople(p);
  const created = await srv.api('POST', `${base(p)}/segments`, { name: 'active_rich', rule: exampleRule });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.size, 2, created.text);
  assert.equal(created.body.kind, 'rule');
  assert.equal(created.body.realtime, true);
  assert.deepEqual(created.body.refresh, { daily_at: '00:00' });
  assert.deepEqual(created.body.rule, exampleRule);
  const id = created.body.id;
  assert.deepEqual(await members(p, id), ['u1', 'u6']);

  // u4 buys a second time above 10k: in at once, and the change is an event of u4's.
  const buy = await srv.records(p, [{ type: 'track', event: 'BuyFund', distinct_id: 'u4', time: now - 60000, _track_id: nextSeq(), properties: { amount: 30000 } }]);
  assert.equal(buy.body.accepted, 1, buy.text);
  await waitFor(async () => {
    const r = await srv.api('GET', `${base(p)}/users/u4/segments`);
    return r.status === 200 && r.body.segments.some((s) => s.id === id);
  }, 5000);
  await waitFor(async () => {
    const r = await srv.events(p, 'u4');
    return r.body.events.some((e) => e.event === '$segment_enter' && e.properties.segment_id === id &&
      e.properties.segment_name === 'active_rich');
  }, 5000);
  // A small buy does not count; a profile change takes u1 out at once.
  await srv.records(p, [{ type: 'track', event: 'BuyFund', distinct_id: 'u3', time: now - 50000, _track_id: nextSeq(), properties: { amount: 100 } }]);
  await srv.records(p, [{ type: 'profile_set', distinct_id: 'u1', time: now - 40000, _track_id: nextSeq(), properties: { aum: 100 } }]);
  await waitFor(async () => (await members(p, id)).join() === 'u4,u6', 5000);
  await waitFor(async () => (await srv.events(p, 'u1')).body.events.some((e) => e.event === '$segment_exit'), 5000);

  // A full recompute finds what the realtime updates found.
  const refreshed = await srv.api('POST', `${base(p)}/segments/${id}/refresh`);
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.deepEqual([refreshed.body.size, refreshed.body.entered, refreshed.body.exited], [2, 0, 0], refreshed.text);

  const history = await srv.api('GET', `${base(p)}/segments/${id}/history`);
  assert.equal(history.status, 200, history.text);
  assert.deepEqual(history.body.history.map((h) => [h.trigger, h.size]), [['create', 2], ['refresh', 2]]);

  const mine = await srv.api('GET', `${base(p)}/users/u6/segments`);
  assert.deepEqual(mine.body.segments, [{ id, name: 'active_rich' }]);
  const user = await srv.user(p, 'u2');
  assert.deepEqual(user.body.tags, { risk_tier: 'C1' }, user.text);
});

test('behaviour kinds: did_not, sum, sequences, windows, segment references and set algebra', async () => {
  const p = uniqueName('seg');
  await srv.createProject(p);
  await loadPeople(p);
  const estimate = async (rule) => {
    const r = await srv.api('POST', `${base(p)}/segments/estimate`, { rule });
    assert.equal(r.status, 200, r.text);
    return r.body.size;
  };
  // Six people in all.
  assert.equal(await estimate({ profile: 'aum', op: 'is_set' }), 6);
  // Never bought in the last 48 hours: u5 (3 and 40 days ago) and u6 (4 and 5 days ago). (Not
  // '2d': that is today and yesterday in the project's time zone, and just after its midnight
  // the buys of 25 hours ago are the day before yesterday's.)
  assert.equal(await estimate({ did_not: 'BuyFund', within: { last: '48h' } }), 2);
  // Sum of amounts in 30 days ≥ 40000: u1 40k, u2 40k, u3 150k (u4 25k, u5 20k, u6 30k).
  assert.equal(await estimate({ did: 'BuyFund', sum: { property: 'amount', op: '>=', value: 40000 }, within: { last: '30d' } }), 3);
  // Count = 0 of a never-seen event: everybody.
  assert.equal(await estimate({ did: 'NoSuchEvent', count: { op: '=', value: 0 } }), 6);
  // All history: u5's old buy counts — 2 buys ≥ 10k for u1, u2, u3, u5, u6.
  assert.equal(await estimate({ did: 'BuyFund', where: [{ property: 'amount', op: '>', value: 10000 }], count: { op: '>=', value: 2 } }), 5);
  // ViewFund then BuyFund within a day: u1 viewed 3 days ago, bought 2 days ago (≤ 1 day: yes);
  // u6 viewed 6 days ago and bought 5 days ago (yes).
  assert.equal(await estimate({ sequence: [{ event: 'ViewFund' }, { event: 'BuyFund' }], window: '1d', within: { last: '30d' } }), 2);
  // Within 12 hours: nobody (each gap is a day).
  assert.equal(await estimate({ sequence: [{ event: 'ViewFund' }, { event: 'BuyFund' }], window: '12h', within: { last: '30d' } }), 0);
  // Bond buyers whose fund_type filter is an any-of.
  assert.equal(await estimate({ did: 'BuyFund', where: { any: [{ property: 'fund_type', op: '=', value: 'money' }, { property: 'amount', op: '>=', value: 50000 }] } }), 2);

  const shanghai = await srv.api('POST', `${base(p)}/segments`, { name: 'shanghai', rule: { profile: 'city', op: '=', value: 'Shanghai' } });
  const readers = await srv.api('POST', `${base(p)}/segments`, { name: 'readers', rule: { did: 'ReadArticle', within: { last: '7d' } } });
  const bonds = await srv.api('POST', `${base(p)}/segments`, { name: 'bond buyers', rule: { did: 'BuyFund', where: [{ property: 'fund_type', op: '=', value: 'bond' }] } });
  for (const r of [shanghai, readers, bonds]) assert.equal(r.status, 201, r.text);
  assert.deepEqual(await members(p, shanghai.body.id), ['u1', 'u2', 'u6']);
  assert.deepEqual(await members(p, readers.body.id), ['u1', 'u3']);
  assert.deepEqual(await members(p, bonds.body.id), ['u1', 'u3', 'u5', 'u6']);
  // (shanghai ∪ readers) ∩ bonds \ {u1 … via not readers}: {u1,u2,u3,u6} ∩ {u1,u3,u5,u6} = {u1,u3,u6}, minus readers = {u6}.
  assert.equal(await estimate({ all: [{ any: [{ segment: shanghai.body.id }, { segment: readers.body.id }] }, { segment: bonds.body.id }, { not: { segment: readers.body.id } }] }), 1);
  // A segment named by name works too.
  assert.equal(await estimate({ segment: 'bond buyers' }), 4);

  const deleted = await srv.api('DELETE', `${base(p)}/segments/${readers.body.id}`);
  assert.equal(deleted.status, 200, deleted.text);
  const composite = await srv.api('POST', `${base(p)}/segments`, { name: 'composite', rule: { all: [{ segment: shanghai.body.id }, { segment: bonds.body.id }] } });
  assert.equal(composite.body.size, 2, composite.text);  // u1, u6
  assertError(await srv.api('DELETE', `${base(p)}/segments/${shanghai.body.id}`), 409, 3006);
  // A segment cannot refer to itself through another.
  const loop = await srv.api('PUT', `${base(p)}/segments/${shanghai.body.id}`, { name: 'shanghai', rule: { segment: composite.body.id } });
  assertError(loop, 400, 3007, 'rule.segment');
});

test('static segments from CSV and from a drill-down; paging and CSV export', async () => {
  const p = uniqueName('seg');
  await srv.createProject(p);
  await loadPeople(p);
  const upload = await srv.api('POST', `${base(p)}/segments?name=${encodeURIComponent('VIP 名单')}`,
    'distinct_id\nu2\nu5\nnobody\nu3\n', { headers: { 'Content-Type': 'text/csv' } });
  assert.equal(upload.status, 201, upload.text);
  assert.equal(upload.body.segment.kind, 'static');
  assert.equal(upload.body.segment.size, 3);
  assert.deepEqual([upload.body.upload.matched, upload.body.upload.unmatched], [3, 1]);
  const id = upload.body.segment.id;
  const page = await srv.api('GET', `${base(p)}/segments/${id}/users?offset=1&limit=1&columns=aum,city`);
  assert.equal(page.body.total, 3);
  assert.deepEqual(page.body.users.map((u) => [u.distinct_id, u.profile]), [['u3', { aum: 400000, city: 'Beijing' }]]);
  const csv = await srv.api('GET', `${base(p)}/segments/${id}/users?format=csv&columns=city,aum`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  assert.equal(csv.text, 'distinct_id,city,aum\nu2,Shanghai,600000\nu3,Beijing,400000\nu5,Shenzhen,800000\n');

  // The people who bought a bond fund in the last 30 days, from an events analysis cell (the
  // total's label is the range's first day, in the project's time zone).
  const firstDay = new Date(Date.now() + 8 * 3600000 - 29 * DAY).toISOString().slice(0, 10);
  const drill = await srv.api('POST', `${base(p)}/segments`, {
    name: 'bond buyers (analysis)',
    query: { type: 'events', last: '30d', unit: 'total', measures: [{ event: 'BuyFund', aggregator: 'uniq_users', filter: { property: 'event.fund_type', op: '=', value: 'bond' } }], users: { cell: { time: firstDay, measure: 0 } } },
  });
  assert.equal(drill.status, 201, drill.text);
  assert.equal(drill.body.segment.source, 'query');
  assert.deepEqual(await members(p, drill.body.segment.id), ['u1', 'u3', 'u5', 'u6']);
  const bad = await srv.api('POST', `${base(p)}/segments`, { name: 'x', query: { type: 'events', last: '30d', measures: [] } });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.body.error.field, /^query\./);
});

test('insight: TGI of a tag and a numeric profile property against all users', async () => {
  const p = uniqueName('seg');
  await srv.createProject(p);
  await loadPeople(p);
  const seg = await srv.api('POST', `${base(p)}/segments`, { name: 'shanghai', rule: { profile: 'city', op: '=', value: 'Shanghai' } });
  const insight = await srv.api('POST', `${base(p)}/segments/${seg.body.id}/insight`, { dimensions: [{ tag: 'risk_tier' }, { profile: 'city' }] });
  assert.equal(insight.status, 200, insight.text);
  assert.deepEqual([insight.body.segment_size, insight.body.base_size], [3, 6]);
  // risk_tier inside {u1 C3, u2 C1, u6 none} vs all {C3 ×2, C1, C4, C5, none}:
  //   C1: 1/3 vs 1/6 → TGI 200; none: 1/3 vs 1/6 → 200; C3: 1/3 vs 2/6 → 100;
  //   C4, C5: 0 in the segment → last.
  const risk = insight.body.dimensions[0].rows.map((r) => [r.value, r.segment_count, r.base_count, r.tgi === null ? null : Math.round(r.tgi)]);
  assert.deepEqual(risk.slice(0, 3).sort(), [['C1', 1, 1, 200], ['C3', 1, 2, 100], [null, 1, 1, 200]].sort());
  assert.deepEqual(risk.slice(3).map((r) => r[0]).sort(), ['C4', 'C5']);
  const city = insight.body.dimensions[1].rows;
  assert.deepEqual([city[0].value, city[0].segment_count, city[0].base_count, Math.round(city[0].tgi)], ['Shanghai', 3, 3, 200]);
  assertError(await srv.api('POST', `${base(p)}/segments/${seg.body.id}/insight`, { dimensions: [{ tag: 'nope' }] }), 400, 3007, 'dimensions[0]');
});

test('tags: statistic, first/last, preference and rule kinds; snapshots; realtime statistic', async () => {
  const p = uniqueName('tag');
  await srv.createProject(p);
  const { now, nextSeq } = await loadPeople(p);
  const create = async (body) => {
    const r = await srv.api('POST', `${base(p)}/tags`, body);
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  const buys = await create({ name: 'buys_30d', category: '交易/申购', kind: 'statistic', event: 'BuyFund', aggregate: 'count', within: { last: '30d' } });
  const amount = await create({ name: 'amount_30d', category: '交易/申购', kind: 'statistic', event: 'BuyFund', aggregate: 'sum', property: 'amount', within: { last: '30d' } });
  const biggest = await create({ name: 'max_amount', category: '交易', kind: 'statistic', event: 'BuyFund', aggregate: 'max', property: 'amount' });
  const kinds = await create({ name: 'fund_kinds', category: '交易', kind: 'statistic', event: 'BuyFund', aggregate: 'distinct', property: 'fund_type' });
  const last = await create({ name: 'last_fund_type', category: '交易', kind: 'first_last', event: 'BuyFund', which: 'last', property: 'fund_type' });
  const favourite = await create({ name: 'favourite_type', category: '偏好', kind: 'preference', event: 'BuyFund', property: 'fund_type' });
  const tier = await create({
    name: 'aum_tier', category: '资产', kind: 'rule', status: 'approved',
    values: [{ value: 'A', rule: { profile: 'aum', op: '>=', value: 800000 } }, { value: 'B', rule: { profile: 'aum', op: '>=', value: 600000 } }],
    default: 'C',
  });
  assert.deepEqual([buys.value_type, amount.value_type, last.value_type, favourite.value_type, tier.value_type], ['NUMBER', 'NUMBER', 'STRING', 'STRING', 'STRING']);
  assert.equal(buys.realtime, true);
  assert.equal(tier.coverage, 6);
  const tags = async (u) => (await srv.user(p, u)).body.tags;
  // u3: 3 buys of 50k, types bond, stock, stock (stock most recent last? days 1 bond, 2 stock, 3 stock → last is day 1: bond).
  assert.deepEqual(await tags('u3'), {
    risk_tier: 'C4', buys_30d: 3, amount_30d: 150000, max_amount: 50000, fund_kinds: 2, last_fund_type: 'bond', favourite_type: 'stock', aum_tier: 'C',
  });
  // u5: one buy in 30 days (the other is 40 days ago), max over all history 20000.
  assert.deepEqual(await tags('u5'), {
    risk_tier: 'C5', buys_30d: 1, amount_30d: 20000, max_amount: 20000, fund_kinds: 1, last_fund_type: 'bond', favourite_type: 'bond', aum_tier: 'A',
  });
  // A statistic tag follows new events at once.
  await srv.records(p, [{ type: 'track', event: 'BuyFund', distinct_id: 'u5', time: now - 1000, _track_id: nextSeq(), properties: { amount: 99000, fund_type: 'money' } }]);
  await waitFor(async () => {
    const t = await tags('u5');
    return t.buys_30d === 2 && t.amount_30d === 119000 && t.max_amount === 99000 && t.last_fund_type === 'money';
  }, 5000);

  const history = await srv.api('GET', `${base(p)}/tags/${tier.id}/history`);
  assert.equal(history.status, 200, history.text);
  assert.equal(history.body.snapshots.length, 1);
  assert.deepEqual(history.body.snapshots[0].distribution, [{ value: 'A', users: 2 }, { value: 'B', users: 3 }, { value: 'C', users: 1 }].sort((a, b) => b.users - a.users || a.value.localeCompare(b.value)));
  const run = await srv.api('POST', `${base(p)}/tags/${buys.id}/run`);
  assert.equal(run.status, 200, run.text);
  assert.equal(run.body.coverage, 6);

  const categories = await srv.api('GET', `${base(p)}/tags/categories`);
  const top = categories.body.categories.map((c) => [c.name, c.tags]);
  assert.deepEqual(top.sort(), [['交易', 5], ['偏好', 1], ['资产', 1], ['风险', 1]].sort());
  // A segment over tags.
  const seg = await srv.api('POST', `${base(p)}/segments`, { name: 'tier A buyers', rule: { all: [{ tag: 'aum_tier', op: '=', value: 'A' }, { tag: 'buys_30d', op: '>=', value: 1 }] } });
  assert.equal(seg.body.size, 2, seg.text);  // u4 (900k, 2 buys), u5 (800k)
  assertError(await srv.api('DELETE', `${base(p)}/tags/${tier.id}`), 409, 3006);
});

test('errors name their field; unknown ids are 404', async () => {
  const p = uniqueName('seg');
  await srv.createProject(p);
  await loadPeople(p);
  const post = (body) => srv.api('POST', `${base(p)}/segments`, body);
  assertError(await post({ rule: { profile: 'aum', op: '>', value: 1 } }), 400, 3007, 'name');
  assertError(await post({ name: 'a', rule: { all: [{ profile: 'aum', op: 'bigger', value: 1 }] } }), 400, 3007, 'rule.all[0].op');
  assertError(await post({ name: 'a', rule: { all: [{ did: 'BuyFund', count: { op: '>=', value: 'two' } }] } }), 400, 3007, 'rule.all[0].count.value');
  assertError(await post({ name: 'a', rule: { did: 'BuyFund', within: { last: '30y' } } }), 400, 3007, 'rule.within.last');
  assertError(await post({ name: 'a', rule: { tag: 'missing', op: '=', value: 1 } }), 400, 3007, 'rule.tag');
  assertError(await post({ name: 'a', rule: { profile: 'aum', op: '>', value: 'rich' } }), 400, 3007, 'rule.value');
  assertError(await post({ name: 'a', rule: { sequence: [{ event: 'A' }] } }), 400, 3007, 'rule.sequence');
  assertError(await post({ name: 'a', rule: { wat: 1 } }), 400, 3007, 'rule');
  assertError(await srv.api('POST', `${base(p)}/segments`, '{not json', { headers: { 'Content-Type': 'application/json' } }), 400, 1003);
  assert.equal((await post({ name: 'dup', rule: { profile: 'aum', op: 'is_set' } })).status, 201);
  assertError(await post({ name: 'dup', rule: { profile: 'aum', op: 'is_set' } }), 409, 3006, 'name');
  assertError(await srv.api('GET', `${base(p)}/segments/999`), 404, 3004);
  assertError(await srv.api('POST', `${base(p)}/tags`, { name: '1bad', kind: 'statistic', event: 'X' }), 400, 3007, 'name');
  assertError(await srv.api('POST', `${base(p)}/tags`, { name: 'ok', kind: 'statistic', event: 'X', aggregate: 'sum' }), 400, 3007, 'property');
  assertError(await srv.api('POST', `${base(p)}/tags`, { name: 'ok', kind: 'nope' }), 400, 3007, 'kind');
  assertError(await srv.api('GET', `${base(p)}/users/nobody/segments`), 404, 3004);
});

test('sextant import --tag loads an imported tag from CSV', async () => {
  const p = uniqueName('tag');
  await srv.createProject(p);
  await loadPeople(p);
  const tag = await srv.api('POST', `${base(p)}/tags`, { name: 'credit_score', kind: 'imported', value_type: 'NUMBER' });
  assert.equal(tag.status, 201, tag.text);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-tag-')), 'scores.csv');
  fs.writeFileSync(file, 'distinct_id,score\nu1,720\nu2,655.5\n');
  const out = execFileSync(BIN, ['import', '--project', p, '--server', srv.url, '--token', srv.token, '--tag', 'credit_score', file]).toString();
  assert.match(out, /"imported":2/);
  assert.equal((await srv.user(p, 'u2')).body.tags.credit_score, 655.5);
  fs.writeFileSync(file, 'u3,600\n');
  execFileSync(BIN, ['import', '--project', p, '--server', srv.url, '--token', srv.token, '--tag', 'credit_score', '--merge', file]);
  assert.equal((await srv.user(p, 'u1')).body.tags.credit_score, 720);
  assert.equal((await srv.user(p, 'u3')).body.tags.credit_score, 600);
  fs.writeFileSync(file, 'u3,lots\n');
  assert.throws(() => execFileSync(BIN, ['import', '--project', p, '--server', srv.url, '--token', srv.token, '--tag', 'credit_score', file], { stdio: 'pipe' }));
  const history = await srv.api('GET', `${base(p)}/tags/credit_score/history`);
  assert.equal(history.body.snapshots.length, 1);  // one per day: the last import of the day
  assert.equal(history.body.snapshots[0].coverage, 3);
});

test('ID-Mapping: events of an anonymous id count for the person it was merged into', async () => {
  const p = uniqueName('seg');
  await srv.createProject(p);
  const now = Date.now();
  const loaded = await srv.records(p, [
    { type: 'track', event: 'BuyFund', distinct_id: 'anon-7', time: now - 2 * DAY, _track_id: 1, properties: { amount: 10 } },
    { type: 'track', event: 'BuyFund', distinct_id: 'anon-7', time: now - DAY, _track_id: 2, properties: { amount: 20 } },
    { type: 'track_signup', event: '$SignUp', distinct_id: 'alice', original_id: 'anon-7', time: now - 3600000, _track_id: 3, properties: {} },
    { type: 'track', event: 'BuyFund', distinct_id: 'alice', time: now - 60000, _track_id: 4, properties: { amount: 30 } },
  ]);
  assert.equal(loaded.body.accepted, 4, loaded.text);
  const did = await srv.api('POST', `${base(p)}/segments`, { name: 'buyers', rule: { did: 'BuyFund', within: { last: '7d' } } });
  const thrice = await srv.api('POST', `${base(p)}/segments`, { name: 'thrice', rule: { did: 'BuyFund', count: { op: '>=', value: 3 }, within: { last: '7d' } } });
  const sum = await srv.api('POST', `${base(p)}/segments`, { name: 'sum60', rule: { did: 'BuyFund', sum: { property: 'amount', op: '=', value: 60 } } });
  for (const r of [did, thrice, sum]) assert.equal(r.status, 201, r.text);
  // One person, whose three buys were stored under two ids.
  for (const r of [did, thrice, sum]) {
    assert.equal(r.body.size, 1, r.text);
    assert.deepEqual(await members(p, r.body.id), ['alice']);
  }
  const never = await srv.api('POST', `${base(p)}/segments/estimate`, { rule: { did_not: 'BuyFund' } });
  assert.equal(never.body.size, 0, never.text);
});
