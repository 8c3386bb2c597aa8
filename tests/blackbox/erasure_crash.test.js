'use strict';
// Erasure survives a crash (issue: security and privacy — data-subject deletion; reliability).
// The server is killed with SIGKILL at a named step of an erasure (SEXTANT_CRASH_POINT, the
// test seam of src/common/crash_point.h): right after the erasure's durable start, after the
// events are erased, and after the audit entry but before the job is deleted. Each time the
// next start finishes the job before serving: the customer is gone from every API, their
// events from queries and from every file of the data directory, the bystander is intact, and
// the erasure is in the audit trail under the requester's name (marked as finished at start
// where the request got no answer), with the trail still verifying.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const J = require('../lib/journeys');
const { filesContaining } = require('../lib/files');

let ctx;
after(async () => { if (ctx) await ctx.stop(); });

test('an erasure cut short by kill -9 at any step is finished at the next start, and audited', { timeout: 180000 }, async () => {
  ctx = await J.startJourneyServer();
  const { srv } = ctx;
  const p = await J.project(ctx);
  const base = J.base(p);
  const KEEP = 'bystander-keep';
  await J.ingest(ctx, p, [J.profile(KEEP, { phone: '13700000000' }), J.track(KEEP, 'Visit', { note: 'kept' })]);
  const day = new Date(J.START_MS + 8 * J.HOUR).toISOString().slice(0, 10);
  const visitors = async () => {
    const r = await srv.api('POST', `${base}/query`, { type: 'events', from: day, to: day, unit: 'total', measures: [{ event: 'Visit', aggregator: 'uniq_users' }] });
    assert.equal(r.status, 200, r.text);
    return r.body.rows[0].at(-1);
  };

  const points = ['erasure.started', 'erasure.events_erased', 'erasure.audited'];
  for (const [index, point] of points.entries()) {
    const victim = `crash-victim-${index}-13800000${index}`;
    const marker = `crash-marker-${index}-k2v8`;
    const phone = `1391111000${index}`;
    await J.ingest(ctx, p, [J.profile(victim, { phone, city: marker }), J.track(victim, 'Visit', { note: marker })]);
    assert.equal(await visitors(), 2);
    assert.notDeepEqual(filesContaining(srv.dataDir, marker), [], 'the marker is on disk before the erasure');

    // Arm the crash point and erase: the server dies at that step, the request gets no answer.
    srv.opts.env = { SEXTANT_CRASH_POINT: point };
    await srv.restart();
    srv.proc.expectExit = true;
    const answer = await srv.api('DELETE', `${base}/users/${victim}`, undefined, { headers: { 'X-Sextant-Operator': 'dpo' } })
      .then((r) => r.status, (e) => `no answer (${e.code || e.message})`);
    const exit = await srv.proc.exited;
    assert.equal(exit.signal, 'SIGKILL', `${point}: answer ${answer}`);

    // The next start finishes the erasure before it serves.
    srv.opts.env = {};
    await srv.restart();
    assert.equal((await srv.user(p, victim)).status, 404, point);
    assert.equal(await visitors(), 1, point);
    assert.equal((await srv.user(p, KEEP)).body.profile.phone, '13700000000');
    for (const needle of [marker, victim, phone]) {
      assert.deepEqual(filesContaining(srv.dataDir, needle), [], `${point}: ${needle} still on disk`);
    }
    const digest = crypto.createHash('sha256').update(victim).digest('hex');
    const audit = (await srv.api('GET', '/api/v1/audit?limit=100')).body.entries
      .filter((e) => e.action === 'erase' && e.target === `${base}/users/sha256:${digest}`);
    assert.ok(audit.length >= 1, `${point}: no audit entry of the erasure`);
    for (const entry of audit) {
      assert.equal(entry.actor, 'admin');
      assert.equal(entry.status, 200);
      assert.match(entry.detail, /operator dpo/);
      assert.match(entry.detail, /"identities":1/);
    }
    // The request got no answer: the entry says the erasure was finished at start. (After the
    // audited step the entry written before the crash stands, and the resumed run adds one.)
    assert.ok(audit.some((e) => /finished at start after an interruption/.test(e.detail)), JSON.stringify(audit));
    assert.equal((await srv.api('GET', '/api/v1/audit/verify')).body.valid, true);
  }
});
