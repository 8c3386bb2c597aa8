'use strict';
// Black-box crash campaign, short CI version (docs/reliability.md): kill -9 while the event store
// flushes and compacts parts, and while segments are refreshed and tags computed.
//
// (a) Compaction. The server runs on the simulated clock, so the store's maintenance can be
//     driven from outside: a head is flushed into a part once its oldest row is 60 s old
//     (`head_flush_age_ms`), and a day with more than 4 parts has its newest parts merged
//     (`compaction_trigger_parts`, size-tiered: docs/storage-format.md). Each round brings three past days to 4 parts, then adds a
//     fifth to each while a client streams more numbered batches; the maintenance thread merges
//     the days one after the other and the server is killed at a random moment of that (and,
//     every other round, once more during the compaction a restart runs). After each round every
//     acknowledged batch must be stored exactly once (query API, grouped by batch; the store's
//     row count; at the end row by row through the read API), the MANIFEST must list only parts
//     that exist, and the store must open.
// (b) Segments and tags. A population of customers with purchases and profiles; rule segments
//     (realtime and not) and tags (statistic, rule); each round changes the data, refreshes and
//     runs everything over and over and is killed at a random moment of that. After a restart
//     and one more refresh, each segment's size and members and each tag's values are what the
//     data says.
// (c) What a restart must not lose or repeat of derived state: a realtime segment's change is
//     announced ($segment_enter) once across kill -9; the membership events of the kills of (b)
//     agree with the membership — a segment's size is its size at creation plus its
//     $segment_enter minus its $segment_exit events; a realtime tag keeps the acknowledged
//     events it counted across a restart.
//
// Knobs: CRASH_SEED (repeat a run), CRASH_COMPACT_ROUNDS (4), CRASH_BULK_BATCHES (batches of
// 500 per day before the first round, 50), CRASH_SEGMENT_ROUNDS (4), CRASH_USERS (3000).

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, sleep } = require('../lib/server');
const { storeState, metrics, seededRandom, crashSeed } = require('../lib/crash');

const SEED = crashSeed();
const MIN = 60_000;
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5, 1, 0, 0);  // Monday 09:00 in Asia/Shanghai
const dayLabel = (ms) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

const servers = [];
after(async () => { for (const s of servers) await s.stop(); });

// ---------------------------------------------------------------------------------------------
// (a) compaction

const COMPACT_ROUNDS = Number(process.env.CRASH_COMPACT_ROUNDS || 4);
const BULK_BATCHES = Number(process.env.CRASH_BULK_BATCHES || 50);
const BULK_DAYS = [1, 2, 3];            // days before START that get compacted
const BATCH = 500;                      // rows of a bulk or fill batch
const STREAM_BATCH = 100;               // rows of a streamed batch
const STREAM_BATCHES = 24;              // streamed batches per round
const USERS = 40;
const KILL_MODES = ['uniform', 'flush', 'merge'];

test('(a) kill -9 during flush and compaction: every acknowledged event exactly once', { timeout: 180_000 }, async (t) => {
  t.diagnostic(`CRASH_SEED=${SEED}`);
  const rng = seededRandom(SEED);
  const jitter = seededRandom(SEED + 1);   // the stream's pauses, apart: their order depends on timing
  const srv = await startServer({ extraArgs: ['--clock', 'simulated', '--clock-start-ms', String(START)] });
  servers.push(srv);
  const P = 'compact';
  await srv.createProject(P);
  let clock = START;

  // Batch b holds rows seq = b*1000 .. b*1000+size-1 of one day; all of them carry `batch`.
  const batches = new Map();   // b -> {size, dayOffset, acked}
  let nextBatch = 1;
  const newBatch = (dayOffset, size) => {
    const b = nextBatch++;
    batches.set(b, { size, dayOffset, acked: false });
    return b;
  };
  const rows = (b) => {
    const { size, dayOffset } = batches.get(b);
    const out = [];
    for (let i = 0; i < size; i++) {
      const seq = b * 1000 + i;
      out.push({
        type: 'track', event: 'Seq', distinct_id: `cm-${seq % USERS}`,
        time: START - dayOffset * DAY - 2 * 3_600_000 + (seq % 7_000_000), _track_id: seq + 1,
        properties: { seq, batch: b, amount: seq % 997, kind: `k${seq % 13}` },
      });
    }
    return out;
  };
  // Sends a batch until it is acknowledged (the server may be down for a moment).
  let restarting = null;
  async function send(b) {
    for (let attempt = 0; ; attempt++) {
      if (restarting) await restarting;
      try {
        const r = await srv.records(P, rows(b), { timeoutMs: 15_000 });
        if (r.status === 200) {
          assert.equal(r.body.accepted + r.body.duplicates, batches.get(b).size, `batch ${b}: ${r.text}`);
          assert.deepEqual(r.body.rejected, [], `batch ${b}: ${r.text}`);
          batches.get(b).acked = true;
          return;
        }
        assert.ok(r.status >= 500, `batch ${b}: unexpected ${r.status} ${r.text}`);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        // refused / reset while the server is down: resend, as SDKs do
      }
      assert.ok(attempt < 400, `batch ${b} never acknowledged`);
      await sleep(25);
    }
  }
  async function advance(seconds) {
    const r = await srv.api('POST', '/api/v1/admin/clock', { advance_seconds: seconds });
    assert.equal(r.status, 200, r.text);
    clock = r.body.now_ms;
  }
  async function restart() {
    const args = srv.opts.extraArgs;
    args[args.indexOf('--clock-start-ms') + 1] = String(clock);
    await srv.start();
  }
  const bulkParts = () => {
    const st = storeState(srv.dataDir);
    return BULK_DAYS.map((off) => {
      const day = Math.floor((START - off * DAY + 8 * 3_600_000) / DAY);
      for (const [key, n] of st.partsPerDay) if (key.endsWith(`/${day}`)) return n;
      return 0;
    });
  };
  // Flushes every head (61 s of simulated time) and waits until the MANIFEST holds every row
  // (heads go empty part by part; the MANIFEST is written once after the last).
  async function flush() {
    await advance(61);
    await waitFor(async () => {
      const m = await metrics(srv);
      const manifest = storeState(srv.dataDir).manifest;
      const inParts = manifest ? manifest.days.reduce((a, d) => a + d.parts.reduce((b, p) => b + p.rows, 0), 0) : 0;
      return m.sextant_store_head_rows === 0 && inParts === m.sextant_store_rows;
    }, 10_000, 10);
  }
  // Waits until no compaction is due or running: no day over the trigger, counter still.
  async function quiesce() {
    await waitFor(async () => {
      const before = (await metrics(srv)).sextant_store_compactions_total;
      if (bulkParts().some((n) => n > 4)) return false;
      await sleep(250);
      return (await metrics(srv)).sextant_store_compactions_total === before;
    }, 20_000, 20);
  }
  // Brings every bulk day to 4 parts (one more flush triggers compaction).
  async function fill() {
    await quiesce();
    for (let guard = 0; ; guard++) {
      const parts = bulkParts();
      if (parts.every((n) => n === 4)) return;
      assert.ok(guard < 8 && parts.every((n) => n <= 4), `bulk days' parts ${parts}`);
      for (let k = 0; k < BULK_DAYS.length; k++) if (parts[k] < 4) await send(newBatch(BULK_DAYS[k], BATCH));
      await flush();
    }
  }
  // The fifth part of every bulk day; compaction starts within 100 ms of the flush.
  async function trigger() {
    for (const off of BULK_DAYS) await send(newBatch(off, BATCH));
    await advance(61);
  }

  async function verify(label) {
    const acked = [...batches].filter(([, v]) => v.acked);
    const expected = acked.reduce((a, [, v]) => a + v.size, 0);
    const query = {
      type: 'events', from: dayLabel(START - 4 * DAY), to: dayLabel(START + DAY), unit: 'total',
      measures: [{ event: 'Seq', aggregator: 'count' }], by: ['event.batch'], limit: 100_000,
    };
    await waitFor(async () => {
      const r = await srv.api('POST', `/api/v1/projects/${P}/query`, query);
      assert.equal(r.status, 200, r.text);
      const got = new Map(r.body.rows.map((row) => [row[1], row[2]]));
      const wrong = [];
      for (const [b, v] of acked) if (got.get(b) !== v.size) wrong.push(`batch ${b}: ${got.get(b) || 0} of ${v.size}`);
      for (const [b, n] of got) if (!batches.has(b)) wrong.push(`unknown batch ${b}: ${n}`);
      assert.deepEqual(wrong.slice(0, 10), [], `${label}: ${wrong.length} batches not stored exactly once`);
      const total = [...got.values()].reduce((a, n) => a + n, 0);
      assert.equal(total, expected, `${label}: rows in the query answer`);
      return true;
    }, 5_000, 200);
    const m = await metrics(srv);
    assert.equal(m.sextant_store_rows, expected, `${label}: sextant_store_rows`);
    assert.ok(await srv.healthy(), `${label}: healthz`);
    return expected;
  }

  // Bulk load: BULK_BATCHES × 500 rows on each bulk day, two requests in flight.
  const bulk = [];
  for (let k = 0; k < BULK_BATCHES; k++) for (const off of BULK_DAYS) bulk.push(newBatch(off, BATCH));
  const bulkQueue = [...bulk];
  await Promise.all([0, 1].map(async () => { while (bulkQueue.length) await send(bulkQueue.shift()); }));
  await flush();

  // Calibration (no kill): how long the merges of the bulk days take on this machine.
  await fill();
  const c0 = (await metrics(srv)).sextant_store_compactions_total;
  await trigger();
  const t0 = Date.now();
  await waitFor(async () => (await metrics(srv)).sextant_store_compactions_total >= c0 + BULK_DAYS.length, 20_000, 5);
  const window = Date.now() - t0 + 50;
  // Size-tiered: the four 500-row parts are merged, the bulk part (BULK_BATCHES × 500 rows, more
  // than twice theirs) is left as it is.
  assert.deepEqual(bulkParts(), BULK_DAYS.map(() => 2), 'each bulk day: its bulk part and one merged part');
  await verify('calibration');
  t.diagnostic(`compaction of ${BULK_DAYS.length} days took ${window - 50} ms`);

  const landed = { merging: 0, swapped: 0, between: 0 };
  const note = (st) => {
    assert.deepEqual(st.missing, [], 'the MANIFEST lists only part files that exist');
    if (st.unlistedNew) landed.merging++;
    else if (st.unlistedOld) landed.swapped++;
    else landed.between++;
  };
  let kills = 0;
  for (let round = 0; round < COMPACT_ROUNDS; round++) {
    await fill();
    // A client streams numbered batches to today and the bulk days throughout the round.
    const queue = [];
    for (let k = 0; k < STREAM_BATCHES; k++) queue.push(newBatch(k % 2 ? 0 : BULK_DAYS[rng.int(0, BULK_DAYS.length - 1)], STREAM_BATCH));
    const stream = Promise.all([0, 1].map(async () => {
      while (queue.length) { await send(queue.shift()); await sleep(jitter.int(0, 30)); }
    }));
    // Where the kill aims, in turn: a random moment of the merges; the moment a flush has
    // written a part not yet in the MANIFEST; the moment a merge has written its part.
    const mode = KILL_MODES[round % KILL_MODES.length];
    await trigger();
    const aimed = Date.now();
    if (mode === 'uniform') await sleep(rng.int(0, window));
    else {
      if (mode === 'merge') await waitFor(() => bulkParts().every((n) => n === 5) || bulkParts().some((n) => n === 1), 5_000, 2);
      await waitFor(() => storeState(srv.dataDir).unlistedNew > 0, window * 2, 1).catch(() => null);
      await sleep(rng.int(0, 2));
    }
    const delay = Date.now() - aimed;
    let release;
    restarting = new Promise((r) => { release = r; });
    await srv.kill9();
    kills++;
    const st = storeState(srv.dataDir);
    note(st);
    t.diagnostic(`round ${round}: killed (${mode}) ${delay} ms after the trigger; parts per day ${[...st.partsPerDay.values()]}, unlisted new ${st.unlistedNew}, old ${st.unlistedOld}`);
    await restart();
    // A restart merges what is left at once; every other round it is killed during that too.
    if (rng() < 0.5) {
      await waitFor(() => storeState(srv.dataDir).unlistedNew > 0, window, 1).catch(() => null);
      await sleep(rng.int(0, 3));
      await srv.kill9();
      kills++;
      const again = storeState(srv.dataDir);
      note(again);
      t.diagnostic(`round ${round}: killed again during recovery compaction; unlisted new ${again.unlistedNew}, old ${again.unlistedOld}`);
      await restart();
    }
    restarting = null;
    release();
    await stream;
    const rowsNow = await verify(`round ${round}`);
    t.diagnostic(`round ${round}: ${rowsNow} rows exactly once`);
  }
  t.diagnostic(`${kills} kills: ${landed.merging} with a merged part not yet in the MANIFEST, ${landed.swapped} after the swap before the inputs were deleted, ${landed.between} between writes`);
  assert.ok(landed.merging + landed.swapped >= 1 || COMPACT_ROUNDS < 3, 'at least one kill landed inside a compaction');

  // Every row, one by one, through the read API.
  const counts = new Map();
  for (let u = 0; u < USERS; u++) {
    const r = await srv.events(P, `cm-${u}`, 1_000_000);
    assert.equal(r.status, 200, r.text);
    for (const e of r.body.events) {
      const seq = e.properties.seq;
      assert.equal(e.distinct_id, `cm-${seq % USERS}`);
      counts.set(seq, (counts.get(seq) || 0) + 1);
    }
  }
  const dupes = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(dupes.slice(0, 10), [], `${dupes.length} rows stored more than once`);
  const missing = [];
  for (const [b, v] of batches) for (let i = 0; i < v.size; i++) if (!counts.has(b * 1000 + i)) missing.push(b * 1000 + i);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged rows missing`);
  const errs = await srv.ingestErrors(P);
  assert.deepEqual(errs.body.errors, []);
  // A clean stop leaves a store that opens again with the same rows.
  const total = await verify('before stop');
  assert.deepEqual(await srv.stop({ keep: true }), { code: 0, signal: null });
  await restart();
  assert.equal(await verify('after a clean restart'), total);
});

// ---------------------------------------------------------------------------------------------
// (b) segment refresh and tag runs

const SEGMENT_ROUNDS = Number(process.env.CRASH_SEGMENT_ROUNDS || 4);
const PEOPLE = Number(process.env.CRASH_USERS || 3000);
const base = (p) => `/api/v1/projects/${encodeURIComponent(p)}`;
const membershipMismatches = [];   // found by (b), asserted by (c2)

test('(b) kill -9 during segment refresh and tag runs: sizes, members and tag values right after a refresh', { timeout: 180_000 }, async (t) => {
  t.diagnostic(`CRASH_SEED=${SEED}`);
  const rng = seededRandom(SEED ^ 0x5bd1e995);   // its own sequence: (b) alone repeats too
  const srv = await startServer();
  servers.push(srv);
  const P = 'audience';
  await srv.createProject(P);
  const now = Date.now();

  // The data as the test knows it: every acknowledged record is applied here.
  const aum = new Array(PEOPLE).fill(0);
  const buys = new Array(PEOPLE).fill(0);
  const spend = new Array(PEOPLE).fill(0);
  let trackId = 0;
  const pending = [];
  const profile = (u, value) => {
    pending.push({ rec: { type: 'profile_set', distinct_id: `a${u}`, time: now - DAY + trackId, _track_id: ++trackId, properties: { aum: value } }, apply: () => { aum[u] = value; } });
  };
  const buy = (u, amount) => {
    pending.push({ rec: { type: 'track', event: 'Buy', distinct_id: `a${u}`, time: now - rng.int(MIN, 3 * DAY), _track_id: ++trackId, properties: { amount } }, apply: () => { buys[u]++; spend[u] += amount; } });
  };
  async function load() {
    while (pending.length) {
      const chunk = pending.splice(0, 500);
      const r = await srv.records(P, chunk.map((c) => c.rec));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.accepted, chunk.length, r.text);
      for (const c of chunk) c.apply();
    }
  }
  for (let u = 0; u < PEOPLE; u++) {
    profile(u, rng.int(0, 1_000_000));
    for (let k = rng.int(0, 4); k > 0; k--) buy(u, rng.int(1, 800));
  }
  await load();

  const tier = (u) => (aum[u] >= 800_000 ? 'A' : aum[u] >= 400_000 ? 'B' : 'C');
  const post = async (p, body) => {
    const r = await srv.api('POST', `${base(P)}${p}`, body);
    assert.ok(r.status === 200 || r.status === 201, `${p}: ${r.status} ${r.text}`);
    return r.body;
  };
  const tags = {
    buys: await post('/tags', { name: 'buys', kind: 'statistic', event: 'Buy', aggregate: 'count' }),
    spend: await post('/tags', { name: 'spend', kind: 'statistic', event: 'Buy', aggregate: 'sum', property: 'amount' }),
    aum_tier: await post('/tags', {
      name: 'aum_tier', kind: 'rule', status: 'approved', default: 'C',
      values: [{ value: 'A', rule: { profile: 'aum', op: '>=', value: 800_000 } }, { value: 'B', rule: { profile: 'aum', op: '>=', value: 400_000 } }],
    }),
  };
  const segments = {
    buy3: { def: { name: 'buy3', rule: { did: 'Buy', count: { op: '>=', value: 3 } }, realtime: false, refresh: 'manual' }, expect: (u) => buys[u] >= 3 },
    few: { def: { name: 'few', rule: { did: 'Buy', count: { op: '<=', value: 2 } }, realtime: false, refresh: 'manual' }, expect: (u) => buys[u] <= 2 },
    rich: { def: { name: 'rich', rule: { all: [{ profile: 'aum', op: '>=', value: 500_000 }, { did: 'Buy', sum: { property: 'amount', op: '>=', value: 1000 } }] } }, expect: (u) => aum[u] >= 500_000 && spend[u] >= 1000 },
    tierA: { def: { name: 'tierA', rule: { tag: 'aum_tier', op: '=', value: 'A' }, realtime: false, refresh: 'manual' }, expect: (u) => tier(u) === 'A' },
  };
  for (const s of Object.values(segments)) {
    const created = await post('/segments', s.def);
    s.id = created.id;
    s.created = created.size;
    assert.equal(created.size, expectedMembers(s).length, `${s.def.name} at creation`);
  }
  function expectedMembers(s) {
    const out = [];
    for (let u = 0; u < PEOPLE; u++) if (s.expect(u)) out.push(`a${u}`);
    return out.sort();
  }

  // Tags first (a segment reads the tag's values), then segments.
  const refreshAll = async () => {
    for (const tag of Object.values(tags)) await post(`/tags/${tag.id}/run`);
    const sizes = {};
    for (const [name, s] of Object.entries(segments)) sizes[name] = (await post(`/segments/${s.id}/refresh`)).size;
    return sizes;
  };

  async function check(label) {
    const sizes = await refreshAll();
    for (const [name, s] of Object.entries(segments)) {
      const want = expectedMembers(s);
      assert.equal(sizes[name], want.length, `${label}: size of ${name}`);
      const csv = await srv.api('GET', `${base(P)}/segments/${s.id}/users?format=csv`);
      assert.equal(csv.status, 200, csv.text);
      const got = csv.text.trim().split('\n').slice(1).sort();
      assert.deepEqual(got, want, `${label}: members of ${name}`);
    }
    // Tag values: the rule tag's distribution, the statistic tags through rules over them, and
    // a sample of people one by one.
    const history = await srv.api('GET', `${base(P)}/tags/${tags.aum_tier.id}/history`);
    const last = history.body.snapshots[history.body.snapshots.length - 1];
    const dist = Object.fromEntries(last.distribution.map((d) => [d.value, d.users]));
    const wantDist = {};
    for (let u = 0; u < PEOPLE; u++) wantDist[tier(u)] = (wantDist[tier(u)] || 0) + 1;
    assert.deepEqual(dist, wantDist, `${label}: aum_tier distribution`);
    for (const [tag, values, thresholds] of [['buys', buys, [1, 3, 5, 7]], ['spend', spend, [1, 500, 1000, 2500]]]) {
      for (const v of thresholds) {
        const r = await post('/segments/estimate', { rule: { tag, op: '>=', value: v } });
        assert.equal(r.size, values.filter((x) => x >= v).length, `${label}: people with ${tag} >= ${v}`);
      }
    }
    for (let k = 0; k < 10; k++) {
      const u = rng.int(0, PEOPLE - 1);
      const r = await srv.user(P, `a${u}`);
      assert.deepEqual(r.body.tags, { buys: buys[u], spend: spend[u], aum_tier: tier(u) }, `${label}: tags of a${u}`);
    }
    // Every membership change after the first computation is one $segment_enter/_exit event:
    // size at creation + enter events − exit events = size. The events are ingested after the
    // refresh answers; read until two reads agree. A mismatch is recorded for test (c2).
    const countEvents = async (s, event) => {
      const r = await post('/query', {
        type: 'events', from: dayLabel(now - DAY), to: dayLabel(now + DAY), unit: 'total',
        measures: [{ event, aggregator: 'count', filter: { property: 'event.segment_id', op: '=', value: s.id } }],
      });
      return r.rows[0][1];
    };
    let previous = '';
    for (let k = 0; k < 20; k++) {
      await sleep(250);
      const reads = [];
      for (const s of Object.values(segments)) reads.push([await countEvents(s, '$segment_enter'), await countEvents(s, '$segment_exit')]);
      const key = JSON.stringify(reads);
      if (key === previous) break;
      previous = key;
    }
    const counted = JSON.parse(previous);
    Object.entries(segments).forEach(([name, s], i) => {
      const [enters, exits] = counted[i];
      const off = s.created + enters - exits - sizes[name];
      if (off !== (s.off || 0)) {
        membershipMismatches.push(`${label}: ${name} (realtime ${s.def.realtime !== false}): size at creation ${s.created} + ${enters} $segment_enter − ${exits} $segment_exit = ${s.created + enters - exits}, size ${sizes[name]} (${off - (s.off || 0) > 0 ? '+' : ''}${off - (s.off || 0)} this round)`);
        s.off = off;
      }
    });
    assert.ok(await srv.healthy());
  }

  await check('before the first kill');
  // How long one pass of every refresh and run takes: the kills fall inside a few passes.
  let t0 = Date.now();
  await refreshAll();
  const pass = Date.now() - t0;
  t.diagnostic(`one pass of ${Object.keys(tags).length} tag runs and ${Object.keys(segments).length} refreshes: ${pass} ms`);

  for (let round = 0; round < SEGMENT_ROUNDS; round++) {
    // New purchases and new assets for some people: memberships change both ways.
    for (let u = 0; u < PEOPLE; u++) {
      if (rng() < 0.15) for (let k = rng.int(1, 2); k > 0; k--) buy(u, rng.int(1, 800));
      if (rng() < 0.1) profile(u, rng.int(0, 1_000_000));
    }
    await load();
    // Refreshes and runs over and over from two clients until the kill.
    let storming = true;
    const storm = async () => {
      const jobs = [...Object.values(tags).map((tag) => `/tags/${tag.id}/run`), ...Object.values(segments).map((s) => `/segments/${s.id}/refresh`)];
      while (storming) {
        for (const j of jobs) {
          if (!storming) break;
          try { await srv.api('POST', `${base(P)}${j}`, undefined, { timeoutMs: 10_000 }); } catch { /* killed */ }
        }
      }
    };
    const storms = [storm(), storm()];
    const delay = rng.int(0, pass * 3);
    await sleep(delay);
    await srv.kill9();
    storming = false;
    await Promise.all(storms);
    t0 = Date.now();
    await srv.start();
    t.diagnostic(`round ${round}: killed ${delay} ms into the refreshes; restarted in ${Date.now() - t0} ms`);
    // A restart refreshes the realtime segment by itself.
    await waitFor(async () => {
      const r = await srv.api('GET', `${base(P)}/segments/${segments.rich.id}`);
      assert.equal(r.body.size, expectedMembers(segments.rich).length, `round ${round}: rich after the restart`);
      return true;
    }, 5_000, 100);
    await check(`round ${round}`);
  }
});

// ---------------------------------------------------------------------------------------------
// (c) derived state that a restart must not lose or repeat

test('(c1) a realtime segment change is announced once across kill -9', async () => {
  const srv = await startServer();
  servers.push(srv);
  await srv.createProject('rt');
  const now = Date.now();
  const buy = (k) => ({ type: 'track', event: 'Buy', distinct_id: 'x', time: now - 5000 + k, _track_id: k, properties: { amount: 5 } });
  assert.equal((await srv.records('rt', [buy(1)])).status, 200);
  const seg = await srv.api('POST', `${base('rt')}/segments`, { name: 'twice', rule: { did: 'Buy', count: { op: '>=', value: 2 } } });
  assert.equal(seg.status, 201, seg.text);
  assert.equal(seg.body.realtime, true);
  // The second buy puts x in at once, and x's $segment_enter is stored ...
  assert.equal((await srv.records('rt', [buy(2)])).status, 200);
  const enters = async () => (await srv.events('rt', 'x')).body.events.filter((e) => e.event === '$segment_enter').length;
  await waitFor(async () => (await enters()) === 1, 5000);
  // ... then the server is killed (realtime membership is saved up to 5 s late) and restarted;
  // the restart refreshes the segment, which must not announce the same change again.
  await srv.kill9();
  await srv.start();
  await waitFor(async () => (await srv.api('GET', `${base('rt')}/segments/${seg.body.id}`)).body.size === 1, 5000);
  await sleep(1500);
  assert.equal(await enters(), 1, 'x entered once, so one $segment_enter');
});

test('(c2) membership events agree with membership after kills during refresh (recorded by b)', () => {
  assert.ok(membershipMismatches.length === 0,
    `${membershipMismatches.length} mismatches between membership and membership events: ${membershipMismatches.join('; ')}`);
});

test('(c3) a realtime statistic tag keeps acknowledged events across a restart', async () => {
  const srv = await startServer();
  servers.push(srv);
  await srv.createProject('tg');
  const now = Date.now();
  const buy = (k) => ({ type: 'track', event: 'Buy', distinct_id: 'x', time: now - 5000 + k, _track_id: k, properties: { amount: 5 } });
  assert.equal((await srv.records('tg', [buy(1)])).status, 200);
  const tag = await srv.api('POST', `${base('tg')}/tags`, { name: 'buys', kind: 'statistic', event: 'Buy', aggregate: 'count' });
  assert.equal(tag.status, 201, tag.text);
  assert.equal(tag.body.realtime, true);
  assert.equal((await srv.records('tg', [buy(2)])).status, 200);
  await waitFor(async () => (await srv.user('tg', 'x')).body.tags.buys === 2, 5000);
  const after = {};
  for (const how of ['SIGTERM', 'SIGKILL']) {
    // A run first, so that each restart starts from a right value.
    assert.equal((await srv.api('POST', `${base('tg')}/tags/${tag.body.id}/run`)).status, 200);
    const want = how === 'SIGTERM' ? 3 : 4;
    assert.equal((await srv.records('tg', [buy(want)])).status, 200);
    await waitFor(async () => (await srv.user('tg', 'x')).body.tags.buys === want, 5000);
    await srv.restart({ signal: how });
    // Realtime tags are rerun in the background at start: the value is right once that run is
    // done (a fixed second was too short on a loaded machine). A value that never comes right
    // is reported by the assertion below.
    await waitFor(async () => (await srv.user('tg', 'x')).body.tags.buys === want, 15000).catch(() => {});
    after[how] = (await srv.user('tg', 'x')).body.tags.buys;
  }
  assert.deepEqual(after, { SIGTERM: 3, SIGKILL: 4 }, 'buys of x after each restart (acknowledged Buy events: 3, then 4)');
});
