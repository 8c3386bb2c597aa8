'use strict';
// Black-box: the metrics system (saved analysis queries) and dashboards under
// /api/v1/projects/{p}/metrics and /dashboards (docs/query.md "Metrics and dashboards"):
// CRUD for both, validation errors with their field, 409 on deleting a metric a dashboard
// shows, and running a metric and a dashboard over a few loaded events.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName } = require('../lib/server');

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

const base = (p) => `/api/v1/projects/${encodeURIComponent(p)}`;
async function project() {
  const p = uniqueName('cat');
  await srv.createProject(p);
  return p;
}
// Asserts an error answer: HTTP status, stable code and (when given) the field.
function assertError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.body.error.field, field, r.text);
}

const eventsQuery = (from, to) => ({
  type: 'events', from, to, unit: 'day',
  measures: [{ event: 'BuyFund', aggregator: 'count' }, { event: 'BuyFund', aggregator: 'uniq_users' },
    { event: 'BuyFund', aggregator: 'sum', property: 'amount' }],
});
const funnelQuery = (from, to) => ({
  type: 'funnel', from, to, window_seconds: 3 * 86400, steps: [{ event: 'ViewFund' }, { event: 'BuyFund' }],
});

test('metrics: create, list, get, replace, delete', async () => {
  const p = await project();
  const metric = {
    name: '新开户次月留存', description: '开户后次月仍有交易的客户', unit: 'users', owner: 'alice',
    query: { type: 'retention', last: '8w', unit: 'week', periods: 4, initial: { event: 'OpenAccount' }, return: { event: 'BuyFund' } },
  };
  const created = await srv.api('POST', `${base(p)}/metrics`, metric);
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.id, 1);
  for (const k of ['name', 'description', 'unit', 'owner', 'query']) assert.deepEqual(created.body[k], metric[k], k);
  assert.ok(created.body.created_at > Date.now() - 60000 && created.body.created_at <= Date.now(), created.text);
  assert.equal(created.body.updated_at, created.body.created_at);

  const second = await srv.api('POST', `${base(p)}/metrics`, { name: 'Fund buyers', query: eventsQuery('2026-01-01', '2026-01-31') });
  assert.equal(second.status, 201, second.text);
  assert.equal(second.body.id, 2);
  assert.equal(second.body.unit, '');

  const list = await srv.api('GET', `${base(p)}/metrics`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.metrics.map((m) => [m.id, m.name]), [[1, '新开户次月留存'], [2, 'Fund buyers']]);
  assert.deepEqual(list.body.metrics[0], created.body);

  const got = await srv.api('GET', `${base(p)}/metrics/1`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body, created.body);

  // PUT replaces the object; a GET answer can be edited and sent back as is.
  const edited = { ...got.body, name: '新开户次月留存（周）', unit: 'percent' };
  const replaced = await srv.api('PUT', `${base(p)}/metrics/1`, edited);
  assert.equal(replaced.status, 200, replaced.text);
  assert.equal(replaced.body.id, 1);
  assert.equal(replaced.body.name, '新开户次月留存（周）');
  assert.equal(replaced.body.unit, 'percent');
  assert.equal(replaced.body.created_at, created.body.created_at);
  assert.ok(replaced.body.updated_at >= created.body.updated_at);
  assert.equal((await srv.api('GET', `${base(p)}/metrics/1`)).body.name, '新开户次月留存（周）');

  const deleted = await srv.api('DELETE', `${base(p)}/metrics/2`);
  assert.equal(deleted.status, 204, deleted.text);
  assertError(await srv.api('GET', `${base(p)}/metrics/2`), 404, 3004);
  assertError(await srv.api('DELETE', `${base(p)}/metrics/2`), 404, 3004);
  assertError(await srv.api('PUT', `${base(p)}/metrics/2`, metric), 404, 3004);
  // Ids are never reused.
  const third = await srv.api('POST', `${base(p)}/metrics`, { name: 'third', query: eventsQuery('2026-01-01', '2026-01-02') });
  assert.equal(third.body.id, 3, third.text);
  assert.deepEqual((await srv.api('GET', `${base(p)}/metrics`)).body.metrics.map((m) => m.id), [1, 3]);

  // Saved metrics survive a restart.
  await srv.restart();
  assert.deepEqual((await srv.api('GET', `${base(p)}/metrics/1`)).body, replaced.body);
  // Projects do not see each other's metrics.
  const other = await project();
  assert.deepEqual((await srv.api('GET', `${base(other)}/metrics`)).body, { metrics: [] });
});

test('metrics: validation errors name the field; bad ids, methods and tokens', async () => {
  const p = await project();
  const url = `${base(p)}/metrics`;
  const q = eventsQuery('2026-01-01', '2026-01-31');
  assertError(await srv.api('POST', url, { query: q }), 400, 3001, 'name');
  assertError(await srv.api('POST', url, { name: '', query: q }), 400, 3001, 'name');
  assertError(await srv.api('POST', url, { name: 'x'.repeat(201), query: q }), 400, 3001, 'name');
  assertError(await srv.api('POST', url, { name: 42, query: q }), 400, 3001, 'name');
  assertError(await srv.api('POST', url, { name: 'x', unit: 5, query: q }), 400, 3001, 'unit');
  assertError(await srv.api('POST', url, { name: 'x', colour: 'red', query: q }), 400, 3001, 'colour');
  assertError(await srv.api('POST', url, { name: 'x' }), 400, 3001, 'query');
  assertError(await srv.api('POST', url, { name: 'x', query: 'events' }), 400, 3007, 'query');
  assertError(await srv.api('POST', url, { name: 'x', query: {} }), 400, 3007, 'query.type');
  assertError(await srv.api('POST', url, { name: 'x', query: { type: 'nope' } }), 400, 3007, 'query.type');
  assertError(await srv.api('POST', url, { name: 'x', query: { type: 'funnel', last: '7d', steps: [{ event: 'A' }] } }),
    400, 3007, 'query.steps');
  assertError(await srv.api('POST', url, { name: 'x', query: { type: 'events', from: '2026-02-01', to: '2026-01-01', measures: [{ event: 'A' }] } }),
    400, 3007, 'query.to');
  assertError(await srv.api('POST', url, '{"name": "x", "query": '), 400, 1003);
  assertError(await srv.api('POST', url, '[]'), 400, 3001);
  assertError(await srv.api('POST', url, ''), 400, 1003);
  // None of that was stored.
  assert.deepEqual((await srv.api('GET', url)).body, { metrics: [] });

  const ok = await srv.api('POST', url, { name: 'ok', query: q });
  assert.equal(ok.status, 201, ok.text);
  assertError(await srv.api('PUT', `${url}/1`, { name: 'x', query: { type: 'funnel' } }), 400, 3007);
  assert.equal((await srv.api('GET', `${url}/1`)).body.name, 'ok', 'a refused PUT changes nothing');

  for (const id of ['0', '-1', 'abc', '1.5', '4294967296', '99999999999999999999999', '1x']) {
    assertError(await srv.api('GET', `${url}/${id}`), 404, 3004);
    assertError(await srv.api('DELETE', `${url}/${id}`), 404, 3004);
  }
  assertError(await srv.api('GET', `${url}/4294967295`), 404, 3004);
  assertError(await srv.api('GET', `${url}/1/nothing`), 404, 3004);
  assertError(await srv.api('DELETE', url), 405, 3005);
  assertError(await srv.api('POST', `${url}/1`, { name: 'x', query: q }), 405, 3005);
  assertError(await srv.api('GET', `${url}/1/run`), 405, 3005);
  assertError(await srv.api('POST', `${url}/2/run`), 404, 3004);
  assertError(await srv.api('GET', url, undefined, { token: null }), 401, 3002);
  assertError(await srv.api('GET', url, undefined, { token: 'wrong' }), 401, 3002);
  assertError(await srv.api('GET', `${base('no_such_project')}/metrics`), 404, 3004);
  assert.ok(await srv.healthy());
});

test('dashboards: create, list, get, replace, delete; items must exist; 409 on a shown metric', async () => {
  const p = await project();
  const q = eventsQuery('2026-01-01', '2026-01-31');
  for (const name of ['A', 'B', 'C']) {
    const r = await srv.api('POST', `${base(p)}/metrics`, { name, query: q });
    assert.equal(r.status, 201, r.text);
  }
  const url = `${base(p)}/dashboards`;
  const created = await srv.api('POST', url, {
    name: '经营概览', description: 'daily', owner: 'bob', items: [{ metric_id: 2, width: 2 }, { metric_id: 1 }],
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.id, 1);
  assert.deepEqual(created.body.items, [{ metric_id: 2, width: 2 }, { metric_id: 1, width: 1 }]);
  assert.equal(created.body.owner, 'bob');

  assertError(await srv.api('POST', url, { name: 'd', items: [{ metric_id: 1 }, { metric_id: 9 }] }), 400, 3001, 'items[1].metric_id');
  assertError(await srv.api('POST', url, { name: 'd', items: [{ metric_id: 'x' }] }), 400, 3001, 'items[0].metric_id');
  assertError(await srv.api('POST', url, { name: 'd', items: [{ metric_id: 4294967296 }] }), 400, 3001, 'items[0].metric_id');
  assertError(await srv.api('POST', url, { name: 'd', items: [{ metric_id: 1e19 }] }), 400, 3001, 'items[0].metric_id');
  // Integers beyond 64 bits are refused by the JSON parser itself.
  assertError(await srv.api('POST', url, '{"name": "d", "items": [{"metric_id": 100000000000000000000}]}'), 400, 1003);
  assertError(await srv.api('POST', url, { name: 'd', items: [{ metric_id: 1, width: 3 }] }), 400, 3001, 'items[0].width');
  assertError(await srv.api('POST', url, { name: 'd', items: [{ metric: 1 }] }), 400, 3001, 'items[0].metric');
  assertError(await srv.api('POST', url, { name: 'd', items: 'all' }), 400, 3001, 'items');
  assertError(await srv.api('POST', url, { items: [] }), 400, 3001, 'name');
  assertError(await srv.api('POST', url, { name: 'd', layout: 'grid' }), 400, 3001, 'layout');
  assertError(await srv.api('POST', url, '{'), 400, 1003);

  const empty = await srv.api('POST', url, { name: 'empty' });
  assert.equal(empty.status, 201, empty.text);
  assert.deepEqual(empty.body.items, []);
  const list = await srv.api('GET', url);
  assert.deepEqual(list.body.dashboards.map((d) => [d.id, d.name]), [[1, '经营概览'], [2, 'empty']]);
  assert.deepEqual((await srv.api('GET', `${url}/1`)).body, created.body);

  // A metric on a dashboard cannot be deleted; the conflict names the dashboard.
  const refused = await srv.api('DELETE', `${base(p)}/metrics/1`);
  assertError(refused, 409, 3006);
  assert.match(refused.body.error.message, /经营概览/);
  assert.equal((await srv.api('GET', `${base(p)}/metrics/1`)).status, 200);
  // A metric on no dashboard can.
  assert.equal((await srv.api('DELETE', `${base(p)}/metrics/3`)).status, 204);

  const replaced = await srv.api('PUT', `${url}/1`, { ...created.body, items: [{ metric_id: 2 }] });
  assert.equal(replaced.status, 200, replaced.text);
  assert.equal(replaced.body.created_at, created.body.created_at);
  assert.deepEqual(replaced.body.items, [{ metric_id: 2, width: 1 }]);
  assertError(await srv.api('PUT', `${url}/1`, { name: 'x', items: [{ metric_id: 3 }] }), 400, 3001, 'items[0].metric_id');
  assertError(await srv.api('PUT', `${url}/7`, { name: 'x' }), 404, 3004);
  assert.equal((await srv.api('DELETE', `${base(p)}/metrics/1`)).status, 204);
  assertError(await srv.api('DELETE', `${base(p)}/metrics/2`), 409, 3006);

  assert.equal((await srv.api('DELETE', `${url}/1`)).status, 204);
  assertError(await srv.api('GET', `${url}/1`), 404, 3004);
  assert.equal((await srv.api('DELETE', `${base(p)}/metrics/2`)).status, 204);
  assert.deepEqual((await srv.api('GET', url)).body.dashboards.map((d) => d.id), [2]);
  assertError(await srv.api('POST', `${url}/2/run`), 405, 3005);
  assertError(await srv.api('GET', `${url}/5/run`), 404, 3004);
});

test('running a metric and a dashboard answers the saved queries over loaded events', async () => {
  const p = await project();
  // Days in the project's time zone (Asia/Shanghai, UTC+8): day0 three days ago, day1 after it.
  const dayMs = 86400000;
  const shanghaiMidnight = Math.floor((Date.now() + 8 * 3600000) / dayMs) * dayMs - 8 * 3600000;
  const day0 = shanghaiMidnight - 3 * dayMs;
  const date = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 10);
  const from = date(day0);
  const to = date(day0 + dayMs);
  let seq = 0;
  const ev = (user, event, t, properties = {}) => ({ type: 'track', event, distinct_id: user, time: t, _track_id: ++seq, properties });
  const h = 3600000;
  const records = [
    ev('u1', 'ViewFund', day0 + 10 * h), ev('u1', 'BuyFund', day0 + 11 * h, { amount: 100 }),
    ev('u1', 'BuyFund', day0 + dayMs + 9 * h, { amount: 50 }),
    ev('u2', 'ViewFund', day0 + 12 * h), ev('u2', 'BuyFund', day0 + dayMs + 10 * h, { amount: 200 }),
    ev('u3', 'ViewFund', day0 + dayMs + 15 * h),
  ];
  const loaded = await srv.records(p, records);
  assert.equal(loaded.status, 200, loaded.text);
  assert.equal(loaded.body.accepted, records.length, loaded.text);

  const events = await srv.api('POST', `${base(p)}/metrics`, { name: '申购', unit: 'amount', query: eventsQuery(from, to) });
  const funnel = await srv.api('POST', `${base(p)}/metrics`, { name: '浏览→申购转化', unit: 'percent', query: funnelQuery(from, to) });
  // Parses, but cannot run: the literal is not a NUMBER like the stored amount.
  const broken = await srv.api('POST', `${base(p)}/metrics`, {
    name: 'broken', query: { type: 'events', from, to, measures: [{ event: 'BuyFund', filter: { property: 'event.amount', op: '>', value: 'lots' } }] },
  });
  for (const r of [events, funnel, broken]) assert.equal(r.status, 201, r.text);

  const expectedRows = [[from, 1, 1, 100], [to, 2, 2, 250]];
  const run = await waitFor(async () => {
    const r = await srv.api('POST', `${base(p)}/metrics/${events.body.id}/run`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.rows, expectedRows, r.text);
    return r;
  });
  // The same answer as POST /query with the saved query.
  const direct = await srv.api('POST', `${base(p)}/query`, eventsQuery(from, to));
  assert.deepEqual(run.body.rows, direct.body.rows);
  assert.deepEqual(run.body.columns, direct.body.columns);

  const funnelRun = await srv.api('POST', `${base(p)}/metrics/${funnel.body.id}/run`);
  assert.equal(funnelRun.status, 200, funnelRun.text);
  assert.deepEqual(funnelRun.body.steps.map((s) => s.users), [3, 2]);

  const brokenRun = await srv.api('POST', `${base(p)}/metrics/${broken.body.id}/run`);
  assertError(brokenRun, 400, 3007);
  assert.match(brokenRun.body.error.field, /^query\./, brokenRun.text);

  const dashboard = await srv.api('POST', `${base(p)}/dashboards`, {
    name: '基金申购', items: [{ metric_id: funnel.body.id, width: 2 }, { metric_id: events.body.id }, { metric_id: broken.body.id }],
  });
  assert.equal(dashboard.status, 201, dashboard.text);
  const board = await srv.api('GET', `${base(p)}/dashboards/${dashboard.body.id}/run`);
  assert.equal(board.status, 200, board.text);
  assert.deepEqual(board.body.dashboard, dashboard.body);
  const results = board.body.results;
  assert.deepEqual(results.map((r) => r.metric_id), [funnel.body.id, events.body.id, broken.body.id]);
  assert.deepEqual(results[0].answer.steps.map((s) => s.users), [3, 2]);
  assert.deepEqual(results[1].answer.rows, expectedRows);
  assert.equal(results[2].answer, undefined);
  assert.equal(results[2].error.code, 3007, JSON.stringify(results[2]));
  assert.match(results[2].error.field, /^query\./);
});
