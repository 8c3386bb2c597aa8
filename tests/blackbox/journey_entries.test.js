'use strict';
// Black-box: every journey entry type (docs/journeys.md "Entry") — real-time event, process
// breakpoint (once and counted), segment enter, scheduled and ad-hoc segment sends, customer
// key dates, the API trigger — and the nodes that act on the customer record: update_profile,
// goal, exit_when. Server on the simulated clock; touches go to a loopback receiver.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('../lib/server');
const J = require('../lib/journeys');
const { MIN, HOUR, DAY, base, track, profile } = J;

let ctx;
let srv;
before(async () => {
  ctx = await J.startJourneyServer();
  ({ srv } = ctx);
});
after(async () => { if (ctx) await ctx.stop(); });

const sendAndExit = (template = 'hello') => ({
  s: { type: 'send', channel: 'hook', template, next: 'e' }, e: { type: 'exit' },
});
const receivedIds = (p) => J.received(ctx, p).map((r) => r.json.distinct_id).sort();

test('breakpoint: started but not finished within 30 minutes enters; finishing in time does not', async () => {
  const p = await J.project(ctx);
  const j = await J.launch(ctx, p, {
    name: 'open account', entry: { type: 'breakpoint', event: 'account_open_start', not_followed_by: 'account_open_submit', wait: '30m' },
    start: 's', nodes: sendAndExit(),
  });
  await J.ingest(ctx, p, [track('quits', 'account_open_start'), track('finishes', 'account_open_start')]);
  await waitFor(async () => (await J.customer(ctx, p, j, 'quits')).state === 'pending');
  await J.advance(ctx, 10 * MIN);
  await J.ingest(ctx, p, [track('finishes', 'account_open_submit')]);
  await waitFor(async () => (await J.customer(ctx, p, j, 'finishes')).state === 'none');
  await J.advance(ctx, 19 * MIN);
  assert.equal(J.received(ctx, p).length, 0, 'not before 30 minutes');
  await J.advance(ctx, 2 * MIN);
  await waitFor(async () => J.received(ctx, p).length === 1);
  assert.deepEqual(receivedIds(p), ['quits']);
  const rep = await J.report(ctx, p, j);
  assert.equal(rep.entered, 1);
});

test('counted breakpoint: a fund viewed three times in a day without a purchase', async () => {
  const p = await J.project(ctx, { fund: { channel: 'hook', body: '您关注的基金 {{event.fund_id}}' } });
  const j = await J.launch(ctx, p, {
    name: 'views', entry: { type: 'breakpoint', event: 'fund_detail_view', count: 3, within: '1d', not_followed_by: 'fund_subscribe', wait: '1h' },
    start: 's', nodes: sendAndExit('fund'),
  });
  await J.ingest(ctx, p, [track('three', 'fund_detail_view', { fund_id: 'F1' }), track('two', 'fund_detail_view'), track('buys', 'fund_detail_view')]);
  await J.advance(ctx, HOUR);
  await J.ingest(ctx, p, [track('three', 'fund_detail_view', { fund_id: 'F1' }), track('two', 'fund_detail_view'), track('buys', 'fund_detail_view')]);
  await J.advance(ctx, HOUR);
  await J.ingest(ctx, p, [track('three', 'fund_detail_view', { fund_id: 'F1' }), track('buys', 'fund_detail_view')]);
  await J.advance(ctx, 10 * MIN);
  await J.ingest(ctx, p, [track('buys', 'fund_subscribe')]);
  await J.advance(ctx, DAY);
  await waitFor(async () => J.received(ctx, p).length === 1);
  assert.deepEqual(receivedIds(p), ['three']);
  assert.equal(J.received(ctx, p)[0].json.text, '您关注的基金 F1');
  assert.equal((await J.customer(ctx, p, j, 'two')).state, 'none', 'two views: the pending state expired');
});

test('segment enter: a customer who joins a realtime segment enters at once', async () => {
  const p = await J.project(ctx);
  let r = await srv.api('POST', `${base(p)}/segments`, { name: 'wealthy', rule: { profile: 'aum', op: '>=', value: 500000 } });
  assert.equal(r.status, 201, r.text);
  const segment = r.body.id;
  await J.ingest(ctx, p, [profile('a', { aum: 100 }), profile('b', { aum: 900000 })]);
  r = await srv.api('POST', `${base(p)}/segments/${segment}/refresh`);
  assert.equal(r.status, 200, r.text);
  const j = await J.launch(ctx, p, { name: 'welcome wealthy', entry: { type: 'segment_enter', segment: 'wealthy' }, start: 's', nodes: sendAndExit() });
  await J.ingest(ctx, p, [profile('a', { aum: 600000, name: 'A' })]);
  await waitFor(async () => J.received(ctx, p).length === 1, 5000);
  assert.deepEqual(receivedIds(p), ['a'], 'b was already a member: no enter event for b');
  assert.equal((await J.report(ctx, p, j)).entered, 1);
});

test('scheduled (weekly) and ad-hoc (once) sends walk a segment', async () => {
  const p = await J.project(ctx);
  await J.ingest(ctx, p, ['x', 'y', 'z'].map((id) => profile(id, { vip: true, name: id })).concat([profile('w', { vip: false })]));
  let r = await srv.api('POST', `${base(p)}/segments`, { name: 'vips', rule: { profile: 'vip', op: '=', value: true } });
  assert.equal(r.status, 201, r.text);
  r = await srv.api('POST', `${base(p)}/segments/${r.body.id}/refresh`);
  assert.equal(r.body.size, 3, r.text);
  const t = await J.now(ctx);
  const once = await J.launch(ctx, p, { name: 'once', entry: { type: 'once', segment: 'vips', at: t + 2 * HOUR }, start: 's', nodes: sendAndExit() });
  const weekly = await J.launch(ctx, p, {
    name: 'weekly', reentry: { mode: 'after_exit' },
    entry: { type: 'schedule', segment: 'vips', every: 'weekly', weekday: 3, at: '10:00' }, start: 's', nodes: sendAndExit(),
  });
  await J.advance(ctx, 3 * HOUR);
  await waitFor(async () => (await J.report(ctx, p, once)).entered === 3);
  await J.advance(ctx, 7 * DAY);
  const rep = await J.report(ctx, p, weekly);
  assert.equal(rep.entered, 3, 'one Wednesday 10:00 in the next 7 days');
  const entries = await J.ledger(ctx, p, `journey=${weekly}`);
  const sends = entries.filter((e) => e.kind === 'touch');
  assert.equal(sends.length, 3);
  for (const e of sends) {
    const local = new Date(e.time + 8 * HOUR);
    assert.equal(local.getUTCDay(), 3, 'a Wednesday');
    assert.equal(local.getUTCHours(), 10);
  }
  await J.advance(ctx, 7 * DAY);
  assert.equal((await J.report(ctx, p, weekly)).entered, 6, 'the next week again (re-entry after exit)');
  assert.equal((await J.report(ctx, p, once)).entered, 3, 'once is once');
});

test('key date: annual birthday, the day before at 09:00 local', async () => {
  const p = await J.project(ctx, { bday: { channel: 'hook', body: '{{profile.name}}，明天生日快乐' } });
  const t = await J.now(ctx);
  const day = (offset) => new Date(t + 8 * HOUR + offset * DAY).toISOString().slice(5, 10);
  await J.ingest(ctx, p, [
    profile('soon', { name: '明天', birthday: `1990-${day(3)}` }),
    profile('later', { name: '下周', birthday: `1985-${day(10)}` }),
    profile('none', { name: '无' }),
  ]);
  const j = await J.launch(ctx, p, {
    name: 'birthday', reentry: { mode: 'after_exit' },
    entry: { type: 'key_date', property: 'birthday', offset_days: -1, at: '09:00', annual: true }, start: 's', nodes: sendAndExit('bday'),
  });
  await J.advance(ctx, 3 * DAY);
  await waitFor(async () => J.received(ctx, p).length === 1);
  assert.deepEqual(receivedIds(p), ['soon']);
  const entry = (await J.ledger(ctx, p, 'distinct_id=soon'))[0];
  assert.equal(new Date(entry.time + 8 * HOUR).getUTCHours(), 9);
  assert.equal(new Date(entry.time + 8 * HOUR).toISOString().slice(5, 10), day(2));
  await J.advance(ctx, 8 * DAY);
  await waitFor(async () => J.received(ctx, p).length === 2);
  assert.deepEqual(receivedIds(p), ['later', 'soon']);
  assert.equal((await J.report(ctx, p, j)).entered, 2);
});

test('API trigger, update_profile, goal node, exit_when', async () => {
  const p = await J.project(ctx, { api: { channel: 'hook', body: '订单 {{event.order_id}}' } });
  const j = await J.launch(ctx, p, {
    name: 'api', entry: { type: 'api' }, exit_when: [{ event: 'account_closed' }], start: 's',
    nodes: {
      s: { type: 'send', channel: 'hook', template: 'api', next: 'mark' },
      mark: { type: 'update_profile', set: { last_campaign: 'spring', contacted: true }, next: 'w' },
      w: { type: 'wait', duration: '1d', next: 'g' },
      g: { type: 'goal', next: 'e' },
      e: { type: 'exit' },
    },
  });
  await J.ingest(ctx, p, [profile('u1', { name: 'U1' }), profile('u2', { name: 'U2' })]);
  let r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: 'u1', properties: { order_id: 'O-1' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.entered, true);
  r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: 'u2' });
  assert.equal(r.body.entered, true);
  r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: 'u1' });
  assert.equal(r.body.entered, false, 'already inside');
  r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: 'ghost' });
  assert.equal(r.status, 404);
  await waitFor(async () => J.received(ctx, p).length === 2);
  assert.equal(J.received(ctx, p).find((x) => x.json.distinct_id === 'u1').json.text, '订单 O-1');
  await waitFor(async () => (await srv.user(p, 'u1')).body.profile?.last_campaign === 'spring');
  assert.equal((await srv.user(p, 'u1')).body.profile.contacted, true);
  await J.ingest(ctx, p, [track('u2', 'account_closed')]);
  await waitFor(async () => (await J.customer(ctx, p, j, 'u2')).state === 'exited');
  assert.equal((await J.customer(ctx, p, j, 'u2')).exit_reason, 'exit_event:account_closed');
  await J.advance(ctx, DAY + MIN);
  const c = await J.customer(ctx, p, j, 'u1');
  assert.equal(c.state, 'exited');
  assert.ok(c.goal_ms > 0);
  const rep = await J.report(ctx, p, j);
  assert.equal(rep.goal_reached, 1);
  assert.equal(rep.entered, 2);
});

test('segment exit entry, a wait until a weekday morning, and a webhook node to a system', async () => {
  const p = await J.project(ctx);
  let r = await srv.api('PUT', `${base(p)}/channels/crm`, { type: 'webhook', url: `${ctx.receiver.url}/${p}/crm`, secret: J.SECRET });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base(p)}/segments`, { name: 'active', rule: { profile: 'status', op: '=', value: 'active' } });
  assert.equal(r.status, 201, r.text);
  const segment = r.body.id;
  await J.ingest(ctx, p, [profile('leaver', { status: 'active', name: 'L' }), profile('stayer', { status: 'active' })]);
  // Profiles reach the segment index just after the ingest is acknowledged (commit observer).
  await waitFor(async () => {
    r = await srv.api('POST', `${base(p)}/segments/${segment}/refresh`);
    assert.equal(r.body.size, 2, r.text);
    return true;
  }, 5000);
  const j = await J.launch(ctx, p, {
    name: 'win back', entry: { type: 'segment_exit', segment }, start: 'morning',
    nodes: {
      morning: { type: 'wait', until: { time: '09:30', weekdays: [1, 2, 3, 4, 5] }, next: 'crm' },
      crm: { type: 'webhook', channel: 'crm', payload: { action: 'create_case', queue: 'retention' }, next: 's' },
      s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' },
    },
  });
  // Friday 22:00 local: the customer leaves the segment; the next weekday 09:30 is Monday.
  let t = await J.now(ctx);
  while (new Date(t + 8 * HOUR).getUTCDay() !== 5) t = await J.advance(ctx, DAY);
  await J.advanceToLocal(ctx, 22, 0);
  await J.ingest(ctx, p, [profile('leaver', { status: 'dormant' })]);
  await waitFor(async () => (await J.customer(ctx, p, j, 'leaver')).node === 'morning', 5000);
  const due = (await J.customer(ctx, p, j, 'leaver')).due_ms;
  assert.equal(new Date(due + 8 * HOUR).getUTCDay(), 1, 'Monday');
  assert.equal(new Date(due + 8 * HOUR).toISOString().slice(11, 16), '09:30');
  assert.equal((await J.customer(ctx, p, j, 'stayer')).state, 'none');
  await J.advance(ctx, 3 * DAY);
  const crm = await waitFor(() => ctx.receiver.requests.find((x) => x.path === `/${p}/crm`), 5000);
  assert.equal(crm.signatureValid, true);
  assert.deepEqual(crm.json.data, { action: 'create_case', queue: 'retention' });
  assert.equal(crm.json.distinct_id, 'leaver');
  await waitFor(async () => J.received(ctx, p).length === 1);
  const webhookEntry = (await J.ledger(ctx, p, 'distinct_id=leaver')).find((e) => e.kind === 'webhook');
  assert.equal(webhookEntry.decision, 'sent');
});

test('a journey scheduled to end stops taking entries at end_at; customers inside go on', async () => {
  const p = await J.project(ctx);
  const t = await J.now(ctx);
  const j = await J.launch(ctx, p, {
    name: 'campaign', entry: { type: 'api' }, schedule: { start_at: t, end_at: t + HOUR }, start: 'w',
    nodes: { w: { type: 'wait', duration: '2h', next: 's' }, s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } },
  });
  await J.ingest(ctx, p, [profile('early', { name: 'E' }), profile('late', { name: 'L' })]);
  let r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: 'early' });
  assert.equal(r.body.entered, true);
  await J.advance(ctx, HOUR + MIN);
  r = await srv.api('GET', `${base(p)}/journeys/${j}`);
  assert.equal(r.body.status, 'ended');
  r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: 'late' });
  assert.equal(r.status, 409, r.text);
  await J.advance(ctx, 2 * HOUR);
  await waitFor(async () => J.received(ctx, p).length === 1);
  assert.deepEqual(receivedIds(p), ['early']);
  const end = (await J.ledger(ctx, p, `journey=${j}`)).find((e) => e.action === 'end');
  assert.equal(end.operator, 'schedule');
});

test('event entry: a condition on a property first seen after the journey started, in two projects whose schemas number it differently', async () => {
  // Conditions find event properties by schema id, cached per project: a name unknown when the
  // journey started must still match once it appears, and another project's id must not leak.
  const definition = {
    name: 'branch deposit',
    entry: { type: 'event', event: 'deposit', where: [{ property: 'branch_code', op: '=', value: 'SH01' }, { property: 'amount', op: '>=', value: 100000 }] },
    start: 's', nodes: sendAndExit(),
  };
  const first = await J.project(ctx);
  const second = await J.project(ctx);
  // The second project sees other properties first, so branch_code gets another id there.
  await J.ingest(ctx, second, [track('warm', 'page_view', { p1: 1, p2: 'x', p3: true })]);
  const journeys = [await J.launch(ctx, first, definition), await J.launch(ctx, second, definition)];
  for (const [k, p] of [first, second].entries()) {
    await J.ingest(ctx, p, [track('before', 'deposit', { amount: 200000 })]);   // branch_code unknown yet
    await J.ingest(ctx, p, [track('match', 'deposit', { amount: 200000, branch_code: 'SH01' }),
      track('other-branch', 'deposit', { amount: 200000, branch_code: 'BJ02' }),
      track('small', 'deposit', { branch_code: 'SH01', amount: 500 })]);
    await waitFor(async () => J.received(ctx, p).length === 1, 5000);
    assert.deepEqual(receivedIds(p), ['match'], `project ${k + 1}`);
    assert.equal((await J.report(ctx, p, journeys[k])).entered, 1, `project ${k + 1}`);
  }
});
