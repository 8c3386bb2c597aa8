'use strict';
// Black-box: journeys survive kill -9. Customers whose entry events were acknowledged just
// before the kill still enter; every waiting customer resumes at the right time after a
// restart; a kill in the middle of delivery loses no touch and decides none twice — a resent
// touch carries the same idempotency key, so the receiver can drop it.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { waitFor, BIN } = require('../lib/server');
const J = require('../lib/journeys');
const { MIN, HOUR, base, track } = J;

let ctx;
after(async () => { if (ctx) await ctx.stop(); });

// Restarts the killed server with its simulated clock where it was.
async function restartAt(srv, clockMs) {
  const args = srv.opts.extraArgs;
  args[args.indexOf('--clock-start-ms') + 1] = String(clockMs);
  await srv.restart({ signal: 'SIGKILL' });
}

test('kill -9 while entering and while delivering: no lost and no duplicate touch', async () => {
  ctx = await J.startJourneyServer();
  const { srv, receiver } = ctx;
  const p = await J.project(ctx);
  const j = await J.launch(ctx, p, {
    name: 'crash', entry: { type: 'event', event: 'deposit' }, start: 'w',
    nodes: { w: { type: 'wait', duration: '1h', next: 's' }, s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } },
  });
  const people = Array.from({ length: 300 }, (_, i) => `k${i}`);
  for (let i = 0; i < people.length; i += 50) {
    await J.ingest(ctx, p, people.slice(i, i + 50).map((id) => track(id, 'deposit')));
  }
  // Killed right after the last acknowledgement: the journey worker may not have seen it yet.
  let clock = await J.now(ctx);
  await srv.kill9();
  await restartAt(srv, clock);
  await waitFor(async () => (await J.report(ctx, p, j)).entered === 300, 10000);
  assert.equal((await J.report(ctx, p, j)).inside, 300);

  // A slow receiver, so that the kill lands in the middle of delivery.
  receiver.respondWith(() => ({ status: 200, body: { ok: true }, delayMs: 4 }));
  const target = clock + HOUR + MIN;
  const advancing = srv.api('POST', '/api/v1/admin/clock', { set: target }).catch(() => null);
  await waitFor(() => J.received(ctx, p).length >= 60, 20000, 5);
  await srv.kill9();
  await advancing;
  const beforeKill = J.received(ctx, p).length;
  assert.ok(beforeKill < 300, `the kill landed during delivery (${beforeKill} delivered)`);
  receiver.respondWith(() => undefined);
  await restartAt(srv, target);
  clock = await J.now(ctx);
  assert.equal(clock, target);
  await waitFor(async () => new Set(J.received(ctx, p).map((r) => r.headers['idempotency-key'])).size === 300, 20000);

  const requests = J.received(ctx, p);
  const byKey = new Map();
  for (const r of requests) byKey.set(r.headers['idempotency-key'], (byKey.get(r.headers['idempotency-key']) || 0) + 1);
  const expected = new Set(people.map((_, i) => `${j}:v1:s:${i + 1}:1`));
  assert.deepEqual(new Set(byKey.keys()), expected, 'every customer got their touch');
  const resent = requests.length - byKey.size;
  assert.ok(resent <= 64, `at most one in-flight group (64 touches) is resent (${resent})`);
  assert.ok(requests.every((r) => r.signatureValid));
  // Each touch was decided once: one ledger entry per customer, and the chain is intact.
  const entries = await J.ledger(ctx, p, `journey=${j}&limit=1000`);
  const touches = entries.filter((e) => e.kind === 'touch');
  assert.equal(touches.length, 300);
  assert.equal(new Set(touches.map((e) => e.distinct_id)).size, 300);
  const verify = await srv.api('GET', `${base(p)}/ledger/verify`);
  assert.equal(verify.body.valid, true, verify.text);
  await waitFor(async () => (await J.report(ctx, p, j)).nodes.s.delivered === 300, 10000);
  const rep = await J.report(ctx, p, j);
  assert.equal(rep.nodes.s.sent, 300);
  assert.equal(rep.exited, 300);

  // The offline check of a stopped server's data directory agrees.
  await srv.stop({ keep: true });
  const out = execFileSync(BIN, ['ledger', 'verify', '--data-dir', srv.dataDir, '--project', p], { encoding: 'utf8' });
  assert.match(out, new RegExp(`^${p}: ok, ${entries.length} entries, head [0-9a-f]{64}`));
  srv.cleanup();
});

test('caps count the touches sent before a restart; touches older than every window stop counting', async () => {
  if (ctx) await ctx.stop();
  ctx = await J.startJourneyServer();
  const { srv } = ctx;
  const p = await J.project(ctx, {}, { caps: [{ count: 1, per: 'week' }] });
  const j = await J.launch(ctx, p, {
    name: 'weekly', entry: { type: 'event', event: 'ping' }, reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } },
  });
  const decisions = async () => (await J.ledger(ctx, p, 'distinct_id=u1'))
    .filter((e) => e.kind === 'touch').map((e) => e.decision + (e.reason ? `:${e.reason}` : '')).reverse();
  await J.ingest(ctx, p, [track('u1', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 1);
  assert.deepEqual(await decisions(), ['sent']);

  // The touch history is read from the state store again after the restart.
  await restartAt(srv, await J.now(ctx));
  await J.ingest(ctx, p, [track('u1', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 2);
  assert.deepEqual(await decisions(), ['sent', 'suppressed:frequency_cap']);

  // Eight days later the week's cap has room again; after 36 more days (past the 35-day history)
  // and another restart the old touches are gone, and only the newest one counts.
  await J.advance(ctx, 8 * 24 * HOUR);
  await J.ingest(ctx, p, [track('u1', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 3);
  await J.advance(ctx, 36 * 24 * HOUR);
  await restartAt(srv, await J.now(ctx));
  await J.ingest(ctx, p, [track('u1', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 4);
  await J.ingest(ctx, p, [track('u1', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 5);
  assert.deepEqual(await decisions(),
    ['sent', 'suppressed:frequency_cap', 'sent', 'sent', 'suppressed:frequency_cap']);
});

test('the report counts customers waiting per node as they move, after a kill -9 and after an erasure', async () => {
  if (ctx) await ctx.stop();
  ctx = await J.startJourneyServer();
  const { srv } = ctx;
  const p = await J.project(ctx);
  const j = await J.launch(ctx, p, {
    name: 'steps', entry: { type: 'event', event: 'ping' }, start: 'a',
    nodes: { a: { type: 'wait', duration: '1h', next: 'b' }, b: { type: 'wait', duration: '1d', next: 'e' }, e: { type: 'exit' } },
  });
  const waiting = async () => {
    const nodes = (await J.report(ctx, p, j)).nodes;
    return { a: nodes.a?.waiting ?? 0, b: nodes.b?.waiting ?? 0 };
  };
  await J.ingest(ctx, p, ['w1', 'w2', 'w3'].map((id) => track(id, 'ping')));
  await waitFor(async () => (await J.report(ctx, p, j)).entered === 3);
  assert.deepEqual(await waiting(), { a: 3, b: 0 });
  await J.advance(ctx, HOUR + MIN);
  assert.deepEqual(await waiting(), { a: 0, b: 3 }, 'moved from a to b');
  await J.ingest(ctx, p, [track('w4', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).entered === 4);
  assert.deepEqual(await waiting(), { a: 1, b: 3 });

  // Rebuilt from the stored instances at start.
  const clock = await J.now(ctx);
  await srv.kill9();
  await restartAt(srv, clock);
  assert.deepEqual(await waiting(), { a: 1, b: 3 }, 'after the restart');

  const erased = await srv.api('DELETE', `${base(p)}/users/w2`);
  assert.equal(erased.status, 200, erased.text);
  assert.deepEqual(await waiting(), { a: 1, b: 2 }, 'an erased customer waits nowhere');
  await J.advance(ctx, 2 * 24 * HOUR);
  assert.deepEqual(await waiting(), { a: 0, b: 0 });
  assert.equal((await J.report(ctx, p, j)).exited, 3);
});

test('consent withdrawn before any touch holds, and still holds after a kill -9', async () => {
  // The engine skips the consent read for customers it knows have none stored; what it knows
  // is loaded from the stored keys on first use, also after a restart.
  if (ctx) await ctx.stop();
  ctx = await J.startJourneyServer();
  const { srv } = ctx;
  const p = await J.project(ctx);
  const j = await J.launch(ctx, p, {
    name: 'consent', entry: { type: 'event', event: 'ping' }, reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } },
  });
  await J.ingest(ctx, p, [track('c1', 'signup'), track('c2', 'signup')]);
  const withdrawn = await srv.api('PUT', `${base(p)}/users/c1/consent`, { purpose: 'marketing', channel: 'hook', granted: false });
  assert.equal(withdrawn.status, 200, withdrawn.text);
  const reasons = async (id) => (await J.ledger(ctx, p, `distinct_id=${id}`))
    .filter((e) => e.kind === 'touch').map((e) => e.reason || e.decision).reverse();
  await J.ingest(ctx, p, [track('c1', 'ping'), track('c2', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 2);
  assert.deepEqual(await reasons('c1'), ['consent']);
  assert.deepEqual(await reasons('c2'), ['sent']);

  const clock = await J.now(ctx);
  await srv.kill9();
  await restartAt(srv, clock);
  await J.ingest(ctx, p, [track('c1', 'ping'), track('c2', 'ping')]);
  await waitFor(async () => (await J.report(ctx, p, j)).exited === 4);
  assert.deepEqual(await reasons('c1'), ['consent', 'consent']);
  assert.equal((await reasons('c2')).length, 2);
});

// The commit queue (docs/storage-format.md "jrn/q/"): an acknowledged commit waits in a store of
// its own until the decision worker has written its effects; the worker's write records the last
// sequence decided, then the queue records are deleted. A kill before the write decides the
// commit after the restart; a kill between the two writes must not decide it again.
for (const point of ['journey.queue.before_decisions', 'journey.queue.decided_not_deleted']) {
  test(`kill at ${point}: each acknowledged event is decided exactly once`, async () => {
    if (ctx) await ctx.stop();
    ctx = await J.startJourneyServer({ env: { SEXTANT_CRASH_POINT: point } });
    const { srv } = ctx;
    const p = await J.project(ctx);
    const j = await J.launch(ctx, p, {
      name: 'once', entry: { type: 'event', event: 'ping' }, reentry: { mode: 'after_exit' }, start: 's',
      nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } },
    });
    srv.proc.expectExit = true;   // the first decision step kills the server
    const acked = await srv.records(p, [track('u1', 'ping'), track('u2', 'ping')]).catch(() => null);
    const exit = await srv.proc.exited;
    assert.equal(exit.signal, 'SIGKILL', `the server was killed at ${point}`);
    srv.opts.env = {};
    await srv.start();
    await waitFor(async () => (await J.report(ctx, p, j)).exited === 2, 10000);
    // Settled: nothing more is decided later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rep = await J.report(ctx, p, j);
    assert.deepEqual({ entered: rep.entered, exited: rep.exited, sent: rep.nodes.s.sent }, { entered: 2, exited: 2, sent: 2 },
      `acknowledged: ${acked ? acked.status : 'no answer'}`);
    const touches = (await J.ledger(ctx, p, `journey=${j}&limit=100`)).filter((e) => e.kind === 'touch');
    assert.deepEqual(touches.map((e) => e.distinct_id).sort(), ['u1', 'u2']);
    await waitFor(() => J.received(ctx, p).length >= 2, 10000);
    assert.deepEqual([...new Set(J.received(ctx, p).map((r) => r.json.distinct_id))].sort(), ['u1', 'u2']);
  });
}
