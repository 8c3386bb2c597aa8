'use strict';
// Differential test of the analysis engine: the same generated events go into the real
// `sextant serve` (native batch API) and into a private ClickHouse 18.16 (MergeTree); every
// query of cases.js is answered by both — Sextant through POST /api/v1/projects/default/query,
// ClickHouse through the SQL of reference.js — and the answers must be equal cell by cell.
//
// Environment: SEXTANT_BIN (binary), DIFF_USERS (default 4000 users ≈ 150K events),
// DIFF_SEED, CLICKHOUSE_SERVER_BIN, SEXTANT_KEEP_DATA=1 (keep both data dirs).
// A missing clickhouse-server fails the test (CI installs it: scripts/install-deps.sh --all).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor } = require('../lib/server');
const { startClickHouse } = require('./clickhouse');
const { generate, toRecord, toProfileRecord, toTsv } = require('./generate');
const { sqlFor, fromClickHouse, fromSextant, diff, funnelModel } = require('./reference');
const { cases } = require('./cases');

const PROJECT = 'default';
const USERS = Number(process.env.DIFF_USERS || 4000);
const SEED = Number(process.env.DIFF_SEED || 20260131);
const BATCH = 5000;
const QUERY_PATH = `/api/v1/projects/${PROJECT}/query`;

let srv;
let ch;
let data;
let loadStats = '';
const expectedCounts = {};

before(async () => {
  const t0 = Date.now();
  data = generate({ users: USERS, seed: SEED });
  for (const e of data.events) expectedCounts[e.event] = (expectedCounts[e.event] || 0) + 1;
  const tGen = Date.now();
  // Both are waited for, so that after() stops whichever started when the other one failed.
  const started = await Promise.allSettled([startClickHouse(), startServer()]);
  [ch, srv] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  const tStart = Date.now();

  const loadClickHouse = async () => {
    await ch.query(`CREATE TABLE ev (user String, event String, t DateTime('Asia/Shanghai'), ts UInt32,
      amount Nullable(Float64), fund_type Nullable(String), channel Nullable(String), tags Array(String),
      u_city Nullable(String), u_risk Nullable(Float64))
      ENGINE = MergeTree ORDER BY (user, ts)`);
    // One INSERT (one part): rows keep the generator's order within equal (user, ts).
    await ch.insert('INSERT INTO ev FORMAT TabSeparated', data.events.map(toTsv).join(''));
    await ch.query('OPTIMIZE TABLE ev FINAL');
  };
  const loadSextant = async () => {
    // Profiles first (user properties for `user.*` filters and groups).
    const profiles = data.profiles.map(toProfileRecord).filter(Boolean);
    const p = await srv.records(PROJECT, profiles, { timeoutMs: 120000 });
    assert.equal(p.status, 200, `profiles: ${p.status} ${p.text.slice(0, 500)}`);
    assert.equal(p.body.accepted, profiles.length, `profiles: ${p.text.slice(0, 1000)}`);
    let accepted = 0;
    for (let i = 0; i < data.events.length; i += BATCH) {
      const body = data.events.slice(i, i + BATCH).map((e) => JSON.stringify(toRecord(e))).join('\n');
      const r = await srv.records(PROJECT, body, { headers: { 'Content-Type': 'application/x-ndjson' }, timeoutMs: 120000 });
      assert.equal(r.status, 200, `records batch at ${i}: ${r.status} ${r.text.slice(0, 500)}`);
      assert.deepEqual(r.body.rejected, [], `records batch at ${i} refused some: ${r.text.slice(0, 1000)}`);
      assert.equal(r.body.duplicates, 0, `records batch at ${i}: duplicates ${r.text.slice(0, 300)}`);
      accepted += r.body.accepted;
    }
    assert.equal(accepted, data.events.length, 'every generated event accepted');
  };
  await Promise.all([loadClickHouse(), loadSextant()]);
  loadStats = `${data.events.length} events, ${USERS} users; generate ${tGen - t0} ms, `
    + `start both servers ${tStart - tGen} ms, load both ${Date.now() - tStart} ms`;
}, { timeout: 300000 });

after(async () => {
  await Promise.all([srv && srv.stop(), ch && ch.stop()]);
});

async function sextantQuery(q) {
  const r = await srv.api('POST', QUERY_PATH, q, { timeoutMs: 120000 });
  if (r.status !== 200) {
    throw new Error(`Sextant ${QUERY_PATH} answered ${r.status}: ${r.text.slice(0, 1000)}\nquery: ${JSON.stringify(q)}`);
  }
  return r.body;
}

test('both stores hold exactly the generated events', async (t) => {
  t.diagnostic(loadStats);
  const rows = await ch.json('SELECT event, count() FROM ev GROUP BY event ORDER BY event');
  assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(Object.entries(expectedCounts).sort()), 'ClickHouse counts');

  // Sextant's schema registry counts every stored event by name.
  await waitFor(async () => {
    const r = await srv.schema(PROJECT);
    assert.equal(r.status, 200, r.text);
    const got = Object.fromEntries(r.body.events.map((e) => [e.name, e.count]).sort());
    assert.deepEqual(got, Object.fromEntries(Object.entries(expectedCounts).sort()), 'Sextant schema counts');
    return true;
  }, 10000);

  // A few users, event by event, through the read API.
  for (const user of ['u0', 'u1', `u${Math.floor(USERS / 2)}`, `u${USERS - 1}`]) {
    const mine = data.events.filter((e) => e.user === user);
    if (!mine.length) continue;
    const r = await srv.events(PROJECT, user, 100000);
    assert.equal(r.status, 200, r.text);
    const line = (time, event, p) => `${time} ${event} ${p.amount ?? ''} ${p.fund_type ?? ''} ${p.channel} ${JSON.stringify(p.tags ?? null)}`;
    const got = r.body.events.map((e) => line(e.time / 1000, e.event, e.properties)).sort();
    const want = mine.map((e) => line(e.ts, e.event, e.props)).sort();
    assert.deepEqual(got, want, `events of ${user}`);
    const u = await srv.user(PROJECT, user);
    assert.equal(u.status, 200, u.text);
    assert.deepEqual(u.body.profile, mine[0].user_props, `profile of ${user}`);
  }
});

test('query API sees every event ($any count over the whole range)', async () => {
  const q = { type: 'events', from: data.firstDay, to: data.lastDay, unit: 'month', measures: [{ event: '$any', aggregator: 'count' }] };
  await waitFor(async () => {
    const body = await sextantQuery(q);
    const total = body.rows.reduce((s, row) => s + Number(row[row.length - 1]), 0);
    assert.equal(total, data.events.length, `Sextant counts ${total} events, ${data.events.length} were loaded`);
    return true;
  }, 10000, 200);
});

// Every case runs twice: first on the days as loaded (in-memory heads, rows merged per query),
// then after a restart, which flushes the heads into one part per day — days the engine reads
// lazily, decoding only the rows of the events a query asks for (docs/storage-format.md,
// format 2).
async function checkCase(c, t) {
  {
    const sql = sqlFor(c.q);
    const t0 = Date.now();
    const chRows = await ch.json(sql);
    const t1 = Date.now();
    const body = await sextantQuery(c.q);
    const t2 = Date.now();
    t.diagnostic(`clickhouse ${t1 - t0} ms, sextant ${t2 - t1} ms (meta ${JSON.stringify(body.meta || null)})`);
    const want = fromClickHouse(c.q, chRows);
    let note = '';
    if (c.q.type === 'funnel') {
      // Self-check of the reference: ClickHouse saw tied rows in load order.
      assert.deepEqual(funnelModel(c.q, data.events), want.get('all'), 'JS windowFunnel model (row order on ties) disagrees with ClickHouse');
    }
    const got = fromSextant(c.q, body);
    const d = diff(c.q, got, want);
    const size = c.q.type === 'funnel' ? `users ${JSON.stringify(want.get('all'))}${want.size > 1 ? `, ${want.size - 1} groups` : ''}`
      : `${want.size} non-zero rows`;
    if (d.length && c.q.type === 'funnel') {
      for (const ties of ['step_asc', 'step_desc']) {
        const alt = funnelModel(c.q, data.events, ties);
        if (JSON.stringify(alt) === JSON.stringify(got.get('all'))) note += `\nSextant equals windowFunnel with ties ordered ${ties} instead of row order: ${JSON.stringify(alt)}`;
      }
    }
    if (d.length) {
      const shown = d.slice(0, 40).join('\n  ');
      assert.fail(`${c.name}: ${d.length} difference(s) (ClickHouse: ${size})\n  ${shown}${d.length > 40 ? `\n  ... ${d.length - 40} more` : ''}${note}\n`
        + `query: ${JSON.stringify(c.q)}\nClickHouse SQL:\n${sql}`);
    }
    assert.ok(want.size > 0, `${c.name}: the reference answer is empty — the case tests nothing`);
    if (c.q.type === 'funnel') {
      const users = want.get('all');
      assert.ok(users[users.length - 1] > 0, `${c.name}: no user completes the funnel — the case tests little (${size})`);
      // The ratios and `lost` follow from the users of each step.
      body.steps.forEach((s, k) => {
        if (k + 1 < users.length) assert.equal(s.lost, users[k] - users[k + 1], `step ${k + 1} lost`);
        const first = users[k] / users[0];
        const prev = k === 0 ? 1 : users[k] / users[k - 1];
        assert.ok(Math.abs(s.conversion_from_first - first) < 1e-9, `step ${k + 1} conversion_from_first ${s.conversion_from_first}, expected ${first}`);
        if (k === 0 || users[k - 1]) assert.ok(Math.abs(s.conversion_from_previous - prev) < 1e-9, `step ${k + 1} conversion_from_previous ${s.conversion_from_previous}, expected ${prev}`);
      });
    }
    t.diagnostic(`equal: ${size}`);
  }
}

for (const c of cases) test(c.name, async (t) => checkCase(c, t));

test('restart: the heads become parts', async () => {
  await srv.restart();
  const q = { type: 'events', from: data.firstDay, to: data.lastDay, unit: 'total', measures: [{ event: '$any', aggregator: 'count' }] };
  const body = await sextantQuery(q);
  assert.equal(Number(body.rows[0][body.rows[0].length - 1]), data.events.length, 'every event still counted');
});

for (const c of cases) test(`${c.name} — after a restart, from parts`, async (t) => checkCase(c, t));
