'use strict';
// Black-box crash test (issue §8): a client streams a known set of uniquely numbered events
// (native batch API, batches of 50, several requests in flight) while the server is killed with
// SIGKILL several times at random moments and restarted on the same data dir. Failed batches are
// retried, as SDKs do. At the end every acknowledged event must be present exactly once, no event
// may be present twice, and the server must be healthy.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, sleep } = require('../lib/server');

const USERS = 20;
const BATCH = 50;
const BATCHES = Number(process.env.CRASH_BATCHES || 400);  // 20000 events
const WORKERS = 4;
const KILLS = 4;
const PROJECT = 'crash';

let srv;
after(async () => { if (srv) await srv.stop(); });

const base = Date.now() - 3600000;
function batchRecords(b) {
  const out = [];
  for (let i = 0; i < BATCH; i++) {
    const seq = b * BATCH + i;
    out.push({ type: 'track', event: 'Seq', distinct_id: `cu-${seq % USERS}`, time: base + seq, _track_id: seq + 1, properties: { seq, batch: b } });
  }
  return out;
}

test('every acknowledged event survives repeated kill -9, exactly once', { timeout: 240000 }, async (t) => {
  srv = await startServer();
  await srv.createProject(PROJECT);
  const acked = new Set();        // batch numbers answered 200
  const attempts = new Array(BATCHES).fill(0);
  let next = 0;
  const retry = [];
  let done = false;
  let restarting = null;          // promise while the server is down
  let kills = 0;

  async function worker() {
    for (;;) {
      let b;
      if (retry.length) b = retry.shift();
      // The last batches wait for the second kill, so that at least two kills land while the
      // stream is still running however fast this machine is.
      else if (next < BATCHES && (next < BATCHES - 2 * WORKERS || kills >= 2)) b = next++;
      else if (acked.size === BATCHES) return;
      else { await sleep(50); continue; }
      if (restarting) await restarting;
      attempts[b]++;
      try {
        const r = await srv.records(PROJECT, batchRecords(b), { timeoutMs: 15000 });
        if (r.status === 200) {
          assert.equal(r.body.accepted + r.body.duplicates, BATCH, `batch ${b}: ${r.text}`);
          assert.deepEqual(r.body.rejected, []);
          acked.add(b);
          continue;
        }
        if (r.status < 500) throw new Error(`batch ${b}: unexpected ${r.status} ${r.text}`);
      } catch (e) {
        if (e instanceof assert.AssertionError || /unexpected/.test(e.message)) throw e;
        // connection refused / reset while the server is down: retry later
      }
      retry.push(b);
      await sleep(30);
    }
  }

  async function killer() {
    for (let k = 0; k < KILLS; k++) {
      await sleep(100 + Math.floor(Math.random() * 400));
      if (done) break;
      kills++;
      let release;
      restarting = new Promise((r) => { release = r; });
      await srv.kill9();
      await srv.start();
      restarting = null;
      release();
    }
  }

  const workers = Array.from({ length: WORKERS }, worker);
  const killerRun = killer();
  await Promise.all(workers);
  done = true;
  await killerRun;
  assert.equal(acked.size, BATCHES);
  // At least two kills must have hit the server mid-stream for the test to mean anything (the
  // last batches are held back until then).
  assert.ok(kills >= 2, `only ${kills} kills happened while the client was streaming`);
  // One more kill right after the last acknowledgement: acknowledged = durable.
  await srv.kill9();
  await srv.start();
  assert.ok(srv.starts >= 3, `the server was restarted (${srv.starts} starts)`);

  const expected = BATCHES * BATCH;
  const counts = new Map();
  await waitFor(async () => {
    counts.clear();
    let total = 0;
    for (let u = 0; u < USERS; u++) {
      const r = await srv.events(PROJECT, `cu-${u}`, 100000);
      assert.equal(r.status, 200, r.text);
      for (const e of r.body.events) {
        assert.equal(e.event, 'Seq');
        const seq = e.properties.seq;
        assert.equal(e.distinct_id, `cu-${seq % USERS}`);
        assert.equal(e.time, base + seq);
        counts.set(seq, (counts.get(seq) || 0) + 1);
        total++;
      }
    }
    assert.ok(total >= expected, `visible ${total} of ${expected}`);
    return true;
  }, 5000, 200);
  const dupes = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(dupes.slice(0, 10), [], `${dupes.length} events stored more than once`);
  const missing = [];
  for (const b of acked) for (let i = 0; i < BATCH; i++) if (!counts.has(b * BATCH + i)) missing.push(b * BATCH + i);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged events missing`);
  assert.equal(counts.size, expected);
  const retried = attempts.filter((n) => n > 1).length;
  t.diagnostic(`${BATCHES} batches, ${retried} retried, ${srv.starts} server starts`);
  assert.ok(await srv.healthy());
  const errs = await srv.ingestErrors(PROJECT);
  assert.deepEqual(errs.body.errors, []);
});
