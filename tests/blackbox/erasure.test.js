'use strict';
// Erasure of one customer across every store (issue: security and privacy, data-subject rights):
// DELETE /api/v1/projects/{p}/users/{id}. A customer with an anonymous id merged into their
// login id, a profile with a phone number, events (in a part and in the head), a static segment
// membership, a running journey that sent them a message and created an advisor task, and an
// ingest error quoting their id is erased; a bystander is not. Afterwards no API answers
// anything about them, the ledger still verifies with their entries redacted, the erasure is
// in the audit trail, no file of the data directory (WAL segments, parts, the state store's
// log) contains their ids or the marker carried by their events, and after a restart nothing
// comes back; the same id ingested again is a new, empty person.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('../lib/server');
const J = require('../lib/journeys');
const { filesContaining } = require('../lib/files');

const VICTIM = 'erase-me-13800001234';
const ANON = 'anon-device-erase-7f3a9c';
const PHONE = '13911112222';
const MARKER = 'erase-marker-q9z7';
const KEEP = 'keep-me-bystander';

let ctx;
after(async () => { if (ctx) await ctx.stop(); });

test('a customer is erased from every store, with the erasure audited and nothing coming back', { timeout: 120000 }, async () => {
  ctx = await J.startJourneyServer();
  const { srv } = ctx;
  const p = await J.project(ctx);
  const base = J.base(p);
  const j = await J.launch(ctx, p, {
    name: 'deposit follow-up', entry: { type: 'event', event: 'deposit' }, start: 'hi',
    nodes: {
      hi: { type: 'send', channel: 'hook', template: 'hello', next: 'call' },
      call: { type: 'task', title: '回访', assign: { pool: 'desk' }, sla: '4h', next: 'wait' },
      wait: { type: 'wait', duration: '2d', next: 'e' },
      e: { type: 'exit' },
    },
  });

  // The victim: anonymous browsing, then sign-up (merge), a profile, events; one bystander.
  await J.ingest(ctx, p, [
    J.track(ANON, 'ViewFund', { note: MARKER }),
    { type: 'track_signup', event: '$SignUp', distinct_id: VICTIM, original_id: ANON, properties: {} },
    J.profile(VICTIM, { name: '王小明', phone: PHONE, city: MARKER }),
    J.profile(KEEP, { name: 'Keep', phone: '13700000000' }),
    J.track(KEEP, 'ViewFund', { note: 'kept' }),
  ]);
  // Push the first events into a part, then more into the head.
  await J.advance(ctx, 5 * J.MIN);
  await J.ingest(ctx, p, [J.track(VICTIM, 'deposit', { amount: 500000, note: MARKER }), J.track(KEEP, 'deposit', { amount: 1 })]);
  // A rejected record quoting the victim's id.
  const bad = await srv.records(p, [{ type: 'track', distinct_id: VICTIM, properties: { note: MARKER } }]);
  assert.equal(bad.status, 200, bad.text);
  assert.equal(bad.body.rejected.length, 1);
  const upload = await srv.api('POST', `${base}/segments?name=vip`, `distinct_id\n${VICTIM}\n${KEEP}\n`, { headers: { 'Content-Type': 'text/csv' } });
  assert.equal(upload.status, 201, upload.text);
  const segment = upload.body.segment.id;
  assert.equal(upload.body.segment.size, 2);
  await waitFor(async () => (await srv.api('GET', `${base}/tasks`)).body.tasks.length === 2, 10000);
  await waitFor(() => J.received(ctx, p).length === 2, 10000);
  const victimUser = (await srv.user(p, VICTIM)).body.user_id;
  assert.ok(victimUser > 0);
  // Before: the WAL holds the marker, so the file check below can fail.
  assert.notDeepEqual(filesContaining(srv.dataDir, MARKER), [], 'the marker must be on disk before the erasure');

  const erased = await srv.api('DELETE', `${base}/users/${encodeURIComponent(VICTIM)}`);
  assert.equal(erased.status, 200, erased.text);
  const summary = erased.body;
  assert.equal(summary.user_id, victimUser);
  assert.deepEqual(summary.user_ids, [victimUser], erased.text);
  assert.equal(summary.identities, 2, erased.text);  // the anonymous id and the login id
  // ViewFund, $SignUp, deposit and what the journey recorded about them ($journey_*, $touch_*).
  assert.ok(summary.events >= 3, erased.text);
  assert.equal(summary.segments, 1, erased.text);
  assert.equal(summary.journey_instances, 1, erased.text);
  assert.equal(summary.tasks, 1, erased.text);
  assert.equal(summary.ledger_entries_redacted, 2, erased.text);  // the send and the task
  assert.equal(summary.ingest_errors, 1, erased.text);

  // No API answers anything about them; the bystander is untouched.
  assert.equal((await srv.user(p, VICTIM)).status, 404);
  assert.equal((await srv.user(p, ANON)).status, 404);
  assert.equal((await srv.user(p, KEEP)).status, 200);
  assert.equal((await srv.user(p, KEEP)).body.profile.phone, '13700000000');
  const day = new Date(J.START_MS + 8 * J.HOUR).toISOString().slice(0, 10);
  const counts = await srv.api('POST', `${base}/query`, { type: 'events', from: day, to: day, unit: 'total',
    measures: [{ event: 'ViewFund', aggregator: 'count' }, { event: 'deposit', aggregator: 'uniq_users' }] });
  assert.equal(counts.status, 200, counts.text);
  assert.deepEqual(counts.body.rows[0].slice(-2), [1, 1], counts.text);
  assert.equal((await srv.api('GET', `${base}/segments/${segment}`)).body.size, 1);
  const tasks = (await srv.api('GET', `${base}/tasks`)).body.tasks;
  assert.deepEqual(tasks.map((t) => t.distinct_id), [KEEP]);
  const state = await J.customer(ctx, p, j, KEEP);
  assert.ok(state, 'the bystander is still in the journey');
  const errors = (await srv.ingestErrors(p)).body.errors;
  assert.ok(errors.every((e) => !e.record.includes(VICTIM)), JSON.stringify(errors));
  // The ledger keeps what was decided, without whom and what was said; it still verifies.
  const entries = await J.ledger(ctx, p, 'limit=100');
  const redacted = entries.filter((e) => e.redacted);
  assert.equal(redacted.length, 2, JSON.stringify(entries));
  for (const e of redacted) {
    assert.equal(e.erased, true);
    assert.equal(e.distinct_id, undefined);
    assert.equal(e.content, undefined);
    assert.ok(e.journey && e.decision, JSON.stringify(e));
  }
  assert.ok(!JSON.stringify(entries).includes(VICTIM));
  const verify = await srv.api('GET', `${base}/ledger/verify`);
  assert.equal(verify.status, 200, verify.text);
  assert.equal(verify.body.valid, true, verify.text);
  assert.equal(verify.body.redacted, 2);
  // The erasure itself is audited, with what was removed.
  const audit = (await srv.api('GET', '/api/v1/audit?limit=20')).body.entries;
  const record = audit.find((e) => e.action === 'erase');
  assert.ok(record, JSON.stringify(audit));
  assert.equal(record.status, 200);
  // It names the customer by the SHA-256 of their id, not by the id.
  const digest = require('node:crypto').createHash('sha256').update(VICTIM).digest('hex');
  assert.equal(record.target, `${base}/users/sha256:${digest}`);
  assert.ok(record.detail.includes(`"events":${summary.events}`), record.detail);
  assert.equal((await srv.api('GET', '/api/v1/audit/verify')).body.valid, true);

  // No file names them or holds their events any more (WAL, parts, the state store's files).
  for (const needle of [MARKER, VICTIM, ANON, PHONE]) {
    assert.deepEqual(filesContaining(srv.dataDir, needle), [], `${needle} still on disk`);
  }

  // After a restart nothing comes back; the same id later is a new, empty person.
  await srv.restart();
  assert.equal((await srv.user(p, VICTIM)).status, 404);
  const again = await srv.api('POST', `${base}/query`, { type: 'events', from: day, to: day, unit: 'total',
    measures: [{ event: 'ViewFund', aggregator: 'count' }] });
  assert.equal(again.body.rows[0].at(-1), 1, again.text);
  await J.ingest(ctx, p, [J.track(VICTIM, 'Login', {})]);
  const fresh = await srv.user(p, VICTIM);
  assert.equal(fresh.status, 200);
  assert.notEqual(fresh.body.user_id, victimUser);
  assert.deepEqual(fresh.body.profile, {});
  const events = (await srv.events(p, VICTIM)).body.events;
  assert.deepEqual(events.map((e) => e.event), ['Login']);
  // Refused to roles without admin; an unknown id is 404.
  assert.equal((await srv.api('DELETE', `${base}/users/nobody-here`)).status, 404);
});
