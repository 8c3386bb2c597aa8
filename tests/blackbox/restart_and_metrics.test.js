'use strict';
// Black-box: SIGTERM + restart keeps everything acknowledged (events, users, profiles, items,
// schema, ingest errors, dedupe keys); /metrics exposes the counters the issue names, with the
// names the server documents in its HELP lines (pinned here).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, request, uniqueName } = require('../lib/server');

let srv;
let project;
before(async () => {
  srv = await startServer();
  project = uniqueName('rs');
  await srv.createProject(project);
});
after(async () => { if (srv) await srv.stop(); });

const t0 = Date.now() - 3600000;
const ev = (i, over = {}) => ({ type: 'track', event: 'Buy', distinct_id: `rs-${i % 5}`, time: t0 + i, _track_id: 5000 + i, properties: { amount: i, sku: `s${i}` }, ...over });

// Parses Prometheus text into [{name, labels, value}] and checks the line syntax.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `bad metrics line: ${line}`);
    const labels = {};
    if (m[2]) for (const kv of m[2].slice(1, -1).match(/[a-zA-Z_]+="[^"]*"/g) || []) { const [k, v] = kv.split('='); labels[k] = v.slice(1, -1); }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `bad value: ${line}`);
    out.push({ name: m[1], labels, value });
  }
  return out;
}
async function metrics() {
  const r = await request(`${srv.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/);
  return { text: r.text, samples: parseMetrics(r.text) };
}
const sum = (samples, name, pred = () => true) => samples.filter((s) => s.name === name && pred(s.labels)).reduce((a, s) => a + s.value, 0);

async function snapshot() {
  const users = [];
  for (let u = 0; u < 5; u++) {
    const r = await srv.user(project, `rs-${u}`);
    const e = await srv.events(project, `rs-${u}`, 1000);
    users.push({ user: r.body, events: e.body });
  }
  const login = await srv.user(project, 'rs-login');
  const item = await srv.item(project, 'fund', 'F1');
  const schema = await srv.schema(project);
  const errs = await srv.ingestErrors(project);
  return { users, login: login.body, item: item.body, schema: schema.body, errors: errs.body };
}

test('SIGTERM then restart keeps everything; resends stay deduplicated', async () => {
  const recs = [];
  for (let i = 0; i < 200; i++) recs.push(ev(i));
  let r = await srv.records(project, recs);
  assert.equal(r.body.accepted, 200, r.text);
  r = await srv.records(project, [
    { type: 'track_signup', event: '$SignUp', distinct_id: 'rs-login', original_id: 'rs-0', time: t0 + 500, properties: {} },
    { type: 'profile_set', distinct_id: 'rs-login', time: t0 + 501, properties: { risk_level: 'C3', aum: 120000.5 } },
    { type: 'profile_append', distinct_id: 'rs-login', time: t0 + 502, properties: { tags: ['fund'] } },
    { type: 'item_set', item_type: 'fund', item_id: 'F1', time: t0 + 503, properties: { risk_level: 'R3', name: 'Fund One' } },
    ev(999, { properties: { '1bad': 1 } }),
  ]);
  assert.equal(r.body.accepted, 4, r.text);
  const before0 = await waitFor(async () => {
    const s = await snapshot();
    assert.equal(s.users.reduce((a, u) => a + u.events.events.length, 0), 201, 'all events visible');
    return s;
  });
  assert.equal(before0.item.properties.risk_level, 'R3');
  assert.equal(before0.errors.errors.length, 1);

  const exit = await srv.restart();
  assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM exits 0');

  const after0 = await snapshot();
  assert.deepEqual(after0, before0, 'state identical after restart');

  // Dedupe keys survive the restart: resending the same batch stores nothing new.
  r = await srv.records(project, recs.slice(0, 50));
  assert.equal(r.status, 200);
  assert.equal(r.body.accepted, 0, r.text);
  assert.equal(r.body.duplicates, 50);
  const ev0 = await srv.events(project, 'rs-0', 1000);
  assert.equal(ev0.body.events.length, before0.users[0].events.events.length);
});

test('SIGTERM while batches are in flight: everything acknowledged is there after restart', async () => {
  const p = uniqueName('rs_flight');
  await srv.createProject(p);
  const acked = [];
  let stopping = false;
  const send = async (b) => {
    const recs = Array.from({ length: 100 }, (_, i) => ({ type: 'track', event: 'Flight', distinct_id: `f-${i % 4}`, time: t0 + b * 100 + i, _track_id: 900000 + b * 100 + i, properties: { n: b * 100 + i } }));
    try {
      const r = await srv.records(p, recs);
      if (r.status === 200) acked.push(b);
    } catch { /* connection closed by the stopping server */ }
  };
  const inflight = [];
  for (let b = 0; b < 40; b++) {
    inflight.push(send(b));
    if (b === 20) { stopping = true; inflight.push(srv.stop({ keep: true })); }
    if (stopping) await new Promise((res) => setTimeout(res, 2));
  }
  await Promise.all(inflight);
  assert.equal(srv.exits[srv.exits.length - 1].code, 0);
  await srv.start();
  const counts = new Map();
  for (let u = 0; u < 4; u++) {
    const r = await srv.events(p, `f-${u}`, 100000);
    if (r.status === 404) continue;
    for (const e of r.body.events) counts.set(e.properties.n, (counts.get(e.properties.n) || 0) + 1);
  }
  for (const b of acked) for (let i = 0; i < 100; i++) assert.equal(counts.get(b * 100 + i), 1, `acked event ${b * 100 + i}`);
  assert.ok([...counts.values()].every((n) => n === 1), 'no event twice');
});

test('/metrics: the counters the issue asks for, under their documented names', async () => {
  // Labelled counters only have samples once something happened since the (re)start.
  await srv.records(project, [ev(3000, { _track_id: 888888 })]);
  await srv.records(project, [ev(1, { _track_id: 777777, properties: { '2bad': 1 } })]);
  await srv.records(project, [ev(1)]);   // a duplicate
  const { text, samples } = await metrics();
  const names = new Set(samples.map((s) => s.name));
  for (const n of [
    'sextant_records_accepted_total',          // records accepted (by source)
    'sextant_records_rejected_total',          // records rejected (by reason)
    'sextant_http_request_duration_seconds_bucket', 'sextant_http_request_duration_seconds_count',
    'sextant_wal_fsync_duration_seconds_bucket', 'sextant_wal_fsync_duration_seconds_count',
    'sextant_store_parts', 'sextant_store_part_bytes',
    'sextant_store_compacted_rows_total',      // write amplification of compaction
    'sextant_store_ingest_throttled_seconds_total',  // backpressure: commits held back for head room
    'sextant_dedupe_hits_total',
  ]) assert.ok(names.has(n), `metric ${n} missing`);
  for (const n of ['sextant_records_accepted_total', 'sextant_records_rejected_total', 'sextant_dedupe_hits_total',
    'sextant_store_compacted_rows_total', 'sextant_store_ingest_throttled_seconds_total']) {
    assert.match(text, new RegExp(`# TYPE ${n} counter`));
  }
  assert.match(text, /# TYPE sextant_http_request_duration_seconds histogram/);
  assert.match(text, /# TYPE sextant_wal_fsync_duration_seconds histogram/);

  // Values reflect this server's life (since the last restart): records accepted via the API,
  // a rejection by reason, WAL fsyncs, dedupe hits from the resend above.
  assert.ok(sum(samples, 'sextant_records_accepted_total', (l) => l.source === 'batch') > 0, 'accepted{source="batch"} (native API)');
  const m2 = samples;
  assert.ok(sum(m2, 'sextant_records_rejected_total', (l) => l.reason === 'invalid_name') >= 1, 'rejected{reason="invalid_name"}');
  assert.ok(sum(m2, 'sextant_dedupe_hits_total') >= 1, 'dedupe hits');
  assert.ok(sum(m2, 'sextant_wal_fsync_duration_seconds_count') > 0, 'WAL fsyncs counted');
  assert.ok(sum(m2, 'sextant_http_request_duration_seconds_count') > 0);

  // Histogram buckets: ascending, sane bounds in seconds, ending with +Inf.
  for (const h of ['sextant_http_request_duration_seconds', 'sextant_wal_fsync_duration_seconds']) {
    const les = m2.filter((s) => s.name === `${h}_bucket`).map((s) => s.labels.le);
    assert.equal(les[les.length - 1], '+Inf', `${h} ends with +Inf`);
    const finite = les.slice(0, -1).map(Number);
    for (let i = 1; i < finite.length; i++) assert.ok(finite[i] > finite[i - 1], `${h} buckets ascending`);
    for (const le of finite) assert.ok(le > 0 && le <= 3600, `${h} bucket bound le="${le}" is not a sane latency in seconds`);
  }
});
