'use strict';
// Black-box: the journey runtime (docs/journeys.md, docs/touch-rules.md) on a server started
// with --clock simulated, with real receivers on loopback (an HTTP receiver that checks the
// webhook signature, a real SMTP server). Every scenario uses its own project, so counts and
// ledgers are per test; the simulated clock is shared and only moves forward.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { waitFor, uniqueName } = require('../lib/server');
const J = require('../lib/journeys');
const { MIN, HOUR, DAY, base, as, track, profile } = J;

let ctx;
let srv;
let receiver;
before(async () => {
  ctx = await J.startJourneyServer();
  ({ srv, receiver } = ctx);
});
after(async () => { if (ctx) await ctx.stop(); });

const now = () => J.now(ctx);
const advance = (ms) => J.advance(ctx, ms);
const advanceToLocal = (hh, mm) => J.advanceToLocal(ctx, hh, mm);
const project = (templates, rules) => J.project(ctx, templates, rules);
const launch = (p, definition) => J.launch(ctx, p, definition);
const ingest = (p, records) => J.ingest(ctx, p, records);
const customer = (p, j, id) => J.customer(ctx, p, j, id);
const report = (p, j) => J.report(ctx, p, j);
const ledger = (p, q) => J.ledger(ctx, p, q);
const received = (p) => J.received(ctx, p);

test('a journey runs end to end: event entry with a condition, wait, signed webhook touch, report, ledger', async () => {
  const p = await project();
  const j = await launch(p, {
    name: 'big deposit', entry: { type: 'event', event: 'deposit', where: [{ property: 'amount', op: '>=', value: 100000 }] },
    start: 'wait', nodes: {
      wait: { type: 'wait', duration: '10m', next: 'send' },
      send: { type: 'send', channel: 'hook', template: 'hello', next: 'done' },
      done: { type: 'exit' },
    },
  });
  await ingest(p, [profile('u1', { name: '张三' }), track('u1', 'deposit', { amount: 200000 }), track('u2', 'deposit', { amount: 5000 })]);
  await waitFor(async () => (await customer(p, j, 'u1')).node === 'wait');
  assert.equal((await customer(p, j, 'u2')).state, 'none');
  await advance(9 * MIN);
  assert.equal(received(p).length, 0, 'nothing before the wait ends');
  await advance(2 * MIN);
  const got = received(p);
  assert.equal(got.length, 1);
  assert.equal(got[0].signatureValid, true);
  assert.equal(got[0].headers['idempotency-key'], `${j}:v1:send:1:1`);
  assert.equal(got[0].json.text, 'Hello 张三');
  assert.equal(got[0].json.entry_event.amount, 200000);
  // /metrics: the commit → decision latency, and its two parts (waiting for the worker, steps).
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  const count = (name) => Number((metrics.match(new RegExp(`^${name}_count (\\d+)$`, 'm')) || [0, -1])[1]);
  const decisions = count('sextant_journey_decision_seconds');
  assert.ok(decisions >= 1, metrics);
  assert.equal(count('sextant_journey_decision_queue_seconds'), decisions, 'one wait per decided commit');
  const steps = count('sextant_journey_step_seconds');
  assert.ok(steps >= 1 && steps <= decisions, `${steps} steps for ${decisions} commits`);
  // The decision thread runs at nice -10 where the system allows it (root, CAP_SYS_NICE), else
  // at 0 with a line in the log; the gauge says which, and the kernel agrees.
  const nice = Number((metrics.match(/^sextant_journey_decision_thread_nice (-?\d+)$/m) || [0, NaN])[1]);
  const decideThread = fs.readdirSync(`/proc/${srv.pid}/task`).find(
    (tid) => fs.readFileSync(`/proc/${srv.pid}/task/${tid}/comm`, 'utf8').trim() === 'journey-decide');
  assert.ok(decideThread, 'a thread named journey-decide');
  const stat = fs.readFileSync(`/proc/${srv.pid}/task/${decideThread}/stat`, 'utf8');
  const kernelNice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);  // field 19
  assert.equal(nice, kernelNice, metrics);
  assert.ok(nice === -10 || (nice === 0 && /journey decisions run at normal CPU priority/.test(srv.tail(50))),
    `nice ${nice}`);
  const c = await customer(p, j, 'u1');
  assert.equal(c.state, 'exited');
  assert.equal(c.exit_reason, 'exit_node');
  const rep = await report(p, j);
  assert.equal(rep.entered, 1);
  assert.equal(rep.nodes.send.sent, 1);
  assert.equal(rep.nodes.send.delivered, 1);
  // The list carries the report's headline counters and the priority (one request for a page
  // of hundreds of journeys).
  const list = await srv.api('GET', `${base(p)}/journeys`);
  const listed = list.body.journeys.find((x) => x.id === j);
  assert.deepEqual([listed.entered, listed.exited, listed.goal_reached, listed.customers_inside, listed.priority],
    [rep.entered, rep.exited, rep.goal_reached, rep.inside, 50]);
  const entries = await ledger(p, 'distinct_id=u1');
  assert.equal(entries.length, 1);
  assert.equal(entries[0].decision, 'sent');
  assert.equal(entries[0].content, 'Hello 张三');
  assert.deepEqual(entries[0].values, ['profile.name=张三']);
  const verify = await srv.api('GET', `${base(p)}/ledger/verify`);
  assert.equal(verify.body.valid, true, verify.text);
  // Journey events are analysable like any other: $journey_enter, $touch_sent, $touch_delivered.
  const events = await waitFor(async () => {
    const r = await srv.events(p, 'u1');
    const names = r.body.events.map((e) => e.event);
    return ['$journey_enter', '$touch_sent', '$touch_delivered', '$journey_exit'].every((n) => names.includes(n)) && names;
  });
  assert.ok(events.includes('$touch_sent'));
});

test('maker-checker: self-approval and approval without the role are refused; validation names node and field', async () => {
  const p = await project();
  let r = await srv.api('POST', `${base(p)}/journeys`, {
    name: 'x', entry: { type: 'api' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'nowhere' } },
  }, as('alice'));
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 3007);
  assert.equal(r.body.error.field, 'nodes.s.next');
  r = await srv.api('POST', `${base(p)}/journeys`, {
    name: 'x', entry: { type: 'api' }, start: 's',
    nodes: { s: { type: 'wait', duration: '10 minutes', next: 'e' }, e: { type: 'exit' } },
  }, as('alice'));
  assert.equal(r.body.error.field, 'nodes.s.duration', r.text);
  r = await srv.api('POST', `${base(p)}/journeys`, {
    name: 'x', entry: { type: 'api' }, start: 's',
    nodes: { s: { type: 'send', channel: 'sms', template: 'hello', next: 'e' }, e: { type: 'exit' } },
  }, as('carol'));
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  r = await srv.api('POST', `${base(p)}/journeys/${id}/submit`, undefined, as('carol'));
  assert.equal(r.status, 400, 'the channel does not exist');
  assert.equal(r.body.error.field, 'nodes.s.channel', r.text);
  r = await srv.api('PUT', `${base(p)}/journeys/${id}`, {
    name: 'x', entry: { type: 'api' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } },
  }, as('carol'));
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base(p)}/journeys/${id}/submit`, undefined, as('carol'));
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base(p)}/journeys/${id}/approve`, undefined, as('carol'));
  assert.equal(r.status, 403, 'self-approval');
  assert.match(r.body.error.message, /maker-checker/);
  r = await srv.api('POST', `${base(p)}/journeys/${id}/approve`, undefined, as('alice'));
  assert.equal(r.status, 403, 'no approver role');
  r = await srv.api('POST', `${base(p)}/journeys/${id}/start`, undefined, as('carol'));
  assert.equal(r.status, 409, 'not approved yet');
  r = await srv.api('POST', `${base(p)}/journeys/${id}/approve`, undefined, as('bob'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'approved');
  // The lifecycle is in the ledger.
  const entries = await ledger(p, `journey=${id}`);
  // Who created, edited, submitted and approved; the submit refused for the missing channel
  // changed nothing and is not recorded.
  assert.deepEqual(entries.map((e) => [e.action, e.operator]).reverse(),
    [['create', 'carol'], ['edit', 'carol'], ['submit', 'carol'], ['approve', 'bob']]);
  // An approver without the maker role cannot submit or start.
  r = await srv.api('POST', `${base(p)}/journeys/${id}/start`, undefined, as('bob'));
  assert.equal(r.status, 403, r.text);
  // A template with a forbidden phrase is refused, and one recommending a product needs a disclosure.
  r = await srv.api('PUT', `${base(p)}/templates/bad`, { channel: 'hook', body: '本产品保本保收益' }, as('alice'));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.field, 'body');
  r = await srv.api('PUT', `${base(p)}/templates/rec`, { channel: 'hook', body: '推荐{{item.name}}', recommends_item: true }, as('alice'));
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /risk disclosure/);
  r = await srv.api('PUT', `${base(p)}/templates/rec`, { channel: 'hook', body: '推荐{{item.name}}，投资有风险', recommends_item: true }, as('alice'));
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base(p)}/templates/rec/approve`, undefined, as('alice'));
  assert.equal(r.status, 403, 'the author cannot approve their template');
});

test('re-entry: never, and cooldown with a maximum', async () => {
  const p = await project();
  const nodes = { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } };
  const never = await launch(p, { name: 'never', entry: { type: 'event', event: 'login' }, start: 's', nodes });
  const cooldown = await launch(p, { name: 'cool', entry: { type: 'event', event: 'login' }, reentry: { mode: 'cooldown', cooldown: '1d', max_entries: 2 }, start: 's', nodes });
  await ingest(p, [track('u1', 'login')]);
  await waitFor(async () => (await customer(p, cooldown, 'u1')).entries === 1);
  await advance(HOUR);
  await ingest(p, [track('u1', 'login')]);
  await advance(DAY);
  await ingest(p, [track('u1', 'login')]);
  await waitFor(async () => (await customer(p, cooldown, 'u1')).entries === 2);
  await advance(DAY);
  await ingest(p, [track('u1', 'login')]);
  await advance(MIN);
  assert.equal((await customer(p, never, 'u1')).entries, 1);
  assert.equal((await customer(p, cooldown, 'u1')).entries, 2);
  const rep = await report(p, cooldown);
  assert.equal(rep.entered, 2);
});

test('an entry event of a customer already inside does not enter them again (re-entry after exit)', async () => {
  // The entry event is the journey's only interest in `login`: the engine checks the entry
  // condition first and the customer's membership only for a match.
  const p = await project();
  const j = await launch(p, { name: 'waiting', entry: { type: 'event', event: 'login', where: [{ property: 'amount', op: '>=', value: 10 }] },
    reentry: { mode: 'after_exit' }, start: 'w', nodes: { w: { type: 'wait', duration: '1d', next: 'e' }, e: { type: 'exit' } } });
  await ingest(p, [track('u1', 'login', { amount: 5 })]);
  await ingest(p, [track('u1', 'login', { amount: 20 })]);
  await waitFor(async () => (await customer(p, j, 'u1')).entries === 1);
  await ingest(p, [track('u1', 'login', { amount: 30 })]);
  await advance(HOUR);
  assert.equal((await customer(p, j, 'u1')).entries, 1, 'inside: the second matching login does not enter again');
  await advance(DAY);
  await ingest(p, [track('u1', 'login', { amount: 5 })]);
  await advance(MIN);
  assert.equal((await customer(p, j, 'u1')).entries, 1, 'a login below the condition does not enter');
  await ingest(p, [track('u1', 'login', { amount: 40 })]);
  await waitFor(async () => (await customer(p, j, 'u1')).entries === 2);
  assert.equal((await report(p, j)).entered, 2);
});

test('quiet hours defer a touch to the end of the quiet span, or drop it; caps count per calendar day', async () => {
  const p = await project({}, {
    quiet_hours: [{ channel: 'hook', from: '21:00', to: '08:00', action: 'defer' }],
    caps: [{ channel: '*', count: 1, per: 'day' }],
  });
  const j = await launch(p, { name: 'q', entry: { type: 'event', event: 'ping' }, reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
  await advanceToLocal(22, 30);
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await customer(p, j, 'u1')).due_ms > 0);
  const c = await customer(p, j, 'u1');
  const due = new Date(c.due_ms);
  assert.equal((due.getUTCHours() + 8) % 24, 8, 'deferred to 08:00 local');
  assert.equal(received(p).length, 0);
  await advanceToLocal(8, 30);
  assert.equal(received(p).length, 1);
  const entries = await ledger(p, 'distinct_id=u1');
  assert.equal(entries[0].decision, 'sent');
  assert.equal((new Date(entries[0].time).getUTCHours() + 8) % 24, 8);
  assert.equal(entries[0].time % HOUR, 0, 'sent at exactly 08:00');
  // Same calendar day: the cap of one touch per day suppresses the second.
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await ledger(p, 'distinct_id=u1')).length === 2);
  const capped = (await ledger(p, 'distinct_id=u1'))[0];
  assert.equal(capped.decision, 'suppressed');
  assert.equal(capped.reason, 'frequency_cap');
  // Next day it goes out again.
  await advance(DAY);
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await ledger(p, 'distinct_id=u1')).length === 3);
  assert.equal((await ledger(p, 'distinct_id=u1'))[0].decision, 'sent');

  const drop = await project({}, { quiet_hours: [{ from: '21:00', to: '08:00', action: 'drop' }] });
  const jd = await launch(drop, { name: 'd', entry: { type: 'event', event: 'ping' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
  await advanceToLocal(23, 0);
  await ingest(drop, [track('u1', 'ping')]);
  await waitFor(async () => (await customer(drop, jd, 'u1')).state === 'exited');
  const dropped = await ledger(drop, 'distinct_id=u1');
  assert.equal(dropped[0].reason, 'quiet_hours');
  assert.equal(received(drop).length, 0);
});

test('consent withdrawn (and the unsubscribe link), blacklist', async () => {
  const p = await project({ unsub: { channel: 'hook', body: 'Hi {{profile.name}} — unsubscribe: {{unsubscribe_url}}' } },
    { blacklist: { '*': ['banned'] } });
  const j = await launch(p, { name: 'c', entry: { type: 'event', event: 'ping' }, reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'unsub', next: 'e' }, e: { type: 'exit' } } });
  await ingest(p, [profile('u1', { name: 'A' }), track('u1', 'ping'), track('banned', 'ping')]);
  await waitFor(async () => received(p).length === 1);
  const link = received(p)[0].json.text.split('unsubscribe: ')[1];
  assert.match(link, /^\/api\/v1\/projects\/.+\/unsubscribe\?token=/);
  const un = await srv.api('GET', link, undefined, { token: null });
  assert.equal(un.status, 200, un.text);
  const forged = await srv.api('GET', link.replace(/token=./, 'token=x'), undefined, { token: null });
  assert.equal(forged.status, 400);
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await ledger(p, 'distinct_id=u1')).length === 2);
  assert.equal((await ledger(p, 'distinct_id=u1'))[0].reason, 'consent');
  assert.equal((await ledger(p, 'distinct_id=banned'))[0].reason, 'blacklist');
  // Consent granted again through the API.
  const granted = await srv.api('PUT', `${base(p)}/users/u1/consent`, { purpose: 'marketing', channel: 'hook', granted: true });
  assert.equal(granted.status, 200, granted.text);
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await ledger(p, 'distinct_id=u1')).length === 3);
  assert.equal((await ledger(p, 'distinct_id=u1'))[0].decision, 'sent');
  await waitFor(async () => received(p).length === 2);
  void j;
});

// Funds F4 (R4) and F2 (R2) in project `p`'s catalogue, and two risk assessment dates: one
// 30 days old (valid) and one 400 days old (expired).
async function riskFixtures(p) {
  await srv.records(p, [
    { type: 'item_set', item_type: 'fund', item_id: 'F4', time: await now(), properties: { name: '成长混合', risk_level: 'R4' } },
    { type: 'item_set', item_type: 'fund', item_id: 'F2', time: await now(), properties: { name: '稳健债券', risk_level: 'R2' } },
  ]);
  const date = async (ago) => new Date((await now()) - ago).toISOString().replace('T', ' ').slice(0, 19);
  return { assessed: await date(30 * DAY), stale: await date(400 * DAY) };
}

test('suitability: an R4 fund never reaches a C2 customer, however the journey is built', async () => {
  const p = await project({ fund: { channel: 'hook', body: '推荐{{item.name}}（{{item.risk_level}}），投资有风险', recommends_item: true } });
  const { assessed, stale } = await riskFixtures(p);
  // Transactional purpose and the highest priority do not bypass the gate.
  const j = await launch(p, { name: 's', priority: 100, entry: { type: 'event', event: 'view_fund' }, reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'fund', purpose: 'transactional', justification: 'test', item: { type: 'fund', id_from: 'event.fund_id' }, next: 'e' }, e: { type: 'exit' } } });
  await ingest(p, [
    profile('c2', { risk_level: 'C2', risk_assessed_at: assessed }),
    profile('c5', { risk_level: 'C5', risk_assessed_at: assessed }),
    profile('old', { risk_level: 'C5', risk_assessed_at: stale }),
    track('c2', 'view_fund', { fund_id: 'F4' }), track('c5', 'view_fund', { fund_id: 'F4' }),
    track('old', 'view_fund', { fund_id: 'F4' }), track('nobody', 'view_fund', { fund_id: 'F4' }),
  ]);
  await waitFor(async () => (await report(p, j)).exited === 4);
  const decision = async (id) => (await ledger(p, `distinct_id=${id}`))[0];
  assert.equal((await decision('c2')).reason, 'suitability');
  assert.match((await decision('c2')).detail, /R4 is above the customer's C2/);
  assert.equal((await decision('c5')).decision, 'sent');
  assert.equal((await decision('old')).detail, 'risk assessment expired');
  assert.match((await decision('nobody')).detail, /no known risk_level/);
  await waitFor(async () => received(p).length === 1);
  assert.equal(received(p)[0].json.distinct_id, 'c5');
  assert.equal(received(p)[0].json.text, '推荐成长混合（R4），投资有风险');
  // A fund at the customer's level goes through.
  await ingest(p, [track('c2', 'view_fund', { fund_id: 'F2' })]);
  await waitFor(async () => (await decision('c2')).decision === 'sent');
});

// A segment send reads its customers' profiles in batches ahead of their decisions: each
// customer's decision must still see their own profile (risk level, the fund it names, name).
test('a segment send decides each customer on their own profile: suitability, item, personalisation', async () => {
  const p = await project({ pick: { channel: 'hook', body: '{{profile.name}}: {{item.name}}（{{item.risk_level}}），投资有风险', recommends_item: true } });
  const { assessed, stale } = await riskFixtures(p);
  const member = (id, props) => profile(id, { cohort: 'gate', name: `name-${id}`, ...props });
  await ingest(p, [
    member('c2-r4', { risk_level: 'C2', risk_assessed_at: assessed, fund: 'F4' }),
    member('c2-r2', { risk_level: 'C2', risk_assessed_at: assessed, fund: 'F2' }),
    member('c5-r4', { risk_level: 'C5', risk_assessed_at: assessed, fund: 'F4' }),
    member('stale', { risk_level: 'C5', risk_assessed_at: stale, fund: 'F2' }),
    member('unknown', { fund: 'F2' }),
    profile('outsider', { cohort: 'other', risk_level: 'C5', risk_assessed_at: assessed, fund: 'F2' }),
  ]);
  let r = await srv.api('POST', `${base(p)}/segments`, { name: 'gate', rule: { profile: 'cohort', op: '=', value: 'gate' } });
  assert.equal(r.status, 201, r.text);
  r = await srv.api('POST', `${base(p)}/segments/${r.body.id}/refresh`);
  assert.equal(r.body.size, 5, r.text);
  const j = await launch(p, { name: 'gate send', entry: { type: 'once', segment: 'gate', at: (await now()) + HOUR }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'pick', item: { type: 'fund', id_from: 'profile.fund' }, next: 'e' }, e: { type: 'exit' } } });
  await advance(2 * HOUR);
  await waitFor(async () => (await report(p, j)).exited === 5);
  const decision = async (id) => (await ledger(p, `distinct_id=${id}`))[0];
  assert.equal((await decision('c2-r4')).reason, 'suitability');
  assert.match((await decision('c2-r4')).detail, /R4 is above the customer's C2/);
  assert.equal((await decision('c2-r2')).decision, 'sent');
  assert.equal((await decision('c5-r4')).decision, 'sent');
  assert.equal((await decision('stale')).detail, 'risk assessment expired');
  assert.match((await decision('unknown')).detail, /no known risk_level/);
  await waitFor(async () => received(p).length === 2);
  const texts = Object.fromEntries(received(p).map((m) => [m.json.distinct_id, m.json.text]));
  assert.deepEqual(texts, {
    'c2-r2': 'name-c2-r2: 稳健债券（R2），投资有风险',
    'c5-r4': 'name-c5-r4: 成长混合（R4），投资有风险',
  });
});

test('priority: when two journeys want the same customer within the window, the higher priority wins', async () => {
  const p = await project({}, { priority_window: '5m' });
  const nodes = { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } };
  const low = await launch(p, { name: 'low', priority: 10, entry: { type: 'event', event: 'ping' }, start: 's', nodes });
  const high = await launch(p, { name: 'high', priority: 90, entry: { type: 'event', event: 'ping' }, start: 's', nodes });
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await customer(p, low, 'u1')).state === 'active' && (await customer(p, high, 'u1')).state === 'active');
  await advance(6 * MIN);
  const entries = await ledger(p, 'distinct_id=u1');
  const byJourney = Object.fromEntries(entries.map((e) => [e.journey, e]));
  assert.equal(byJourney[high].decision, 'sent');
  assert.equal(byJourney[low].reason, 'priority');
  assert.equal(received(p).length, 1);
});

test('several events of one customer in one request are decided in order (entry, wait event, re-entry, breakpoint)', async () => {
  // SDKs batch a customer's events: what the first event decided must be seen by the next one
  // even though both are decided before anything is written.
  const p = await project();
  const waits = await launch(p, { name: 'one-batch wait', entry: { type: 'event', event: 'open_start' }, start: 'wait',
    nodes: { wait: { type: 'wait', event: 'open_done', timeout: '30m', next: 'done', timeout_next: 'nudge' },
      nudge: { type: 'send', channel: 'hook', template: 'hello', next: 'done' }, done: { type: 'exit' } } });
  const never = await launch(p, { name: 'one-batch never', entry: { type: 'event', event: 'login' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
  const breakpoint = await launch(p, { name: 'one-batch breakpoint',
    entry: { type: 'breakpoint', event: 'apply_start', not_followed_by: 'apply_done', wait: '30m' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
  await ingest(p, [track('b1', 'open_start'), track('b1', 'open_done'), track('b1', 'login'), track('b1', 'login'),
    track('b1', 'apply_start'), track('b1', 'apply_done')]);
  await waitFor(async () => (await customer(p, waits, 'b1')).state === 'exited');
  await advance(HOUR);
  const waited = await report(p, waits);
  assert.equal(waited.nodes.wait.event, 1, 'the wait saw the event that came right after the entry');
  assert.equal(waited.nodes.wait.timeout || 0, 0);
  assert.equal((await report(p, never)).entered, 1, 're-entry never: the second login of the batch does not enter');
  assert.equal((await customer(p, never, 'b1')).entries, 1);
  assert.equal((await report(p, breakpoint)).entered || 0, 0, 'the process went on within the batch: no breakpoint');
  assert.equal(received(p).length, 1, 'one touch: the re-entry journey once, no nudge, no breakpoint touch');
});

test('wait for an event with a timeout, split on a profile property, A/B by weights', async () => {
  const p = await project({ a: { channel: 'hook', body: 'A' }, b: { channel: 'hook', body: 'B' } });
  const j = await launch(p, {
    name: 'w', entry: { type: 'event', event: 'open_start' }, start: 'vip',
    nodes: {
      vip: { type: 'split', condition: { profile: 'tier', op: '=', value: 'gold' }, yes: 'wait', no: 'ab' },
      wait: { type: 'wait', event: 'open_done', timeout: '30m', next: 'done', timeout_next: 'nudge' },
      nudge: { type: 'send', channel: 'hook', template: 'hello', next: 'done' },
      ab: { type: 'ab', branches: [{ name: 'A', weight: 1, next: 'sa' }, { name: 'B', weight: 1, next: 'sb' }] },
      sa: { type: 'send', channel: 'hook', template: 'a', next: 'done' },
      sb: { type: 'send', channel: 'hook', template: 'b', next: 'done' },
      done: { type: 'exit' },
    },
  });
  const people = Array.from({ length: 40 }, (_, i) => `p${i}`);
  await ingest(p, [profile('g1', { tier: 'gold' }), profile('g2', { tier: 'gold' }), track('g1', 'open_start'), track('g2', 'open_start'),
    ...people.map((id) => track(id, 'open_start'))]);
  await waitFor(async () => (await report(p, j)).entered === 42);
  await advance(10 * MIN);
  await ingest(p, [track('g1', 'open_done')]);
  await waitFor(async () => (await customer(p, j, 'g1')).state === 'exited');
  await advance(25 * MIN);
  const rep = await report(p, j);
  assert.equal(rep.nodes.vip.yes, 2);
  assert.equal(rep.nodes.vip.no, 40);
  assert.equal(rep.nodes.wait.event, 1);
  assert.equal(rep.nodes.wait.timeout, 1);
  assert.equal(rep.nodes.nudge.sent, 1);
  const a = rep.nodes.sa.sent, b = rep.nodes.sb.sent;
  assert.equal(a + b, 40);
  assert.ok(a >= 8 && b >= 8, `both branches get traffic (${a}/${b})`);
  assert.equal(rep.experiments[0].node, 'ab');
  assert.equal(rep.experiments[0].arms[0].entered + rep.experiments[0].arms[1].entered, 40);
  // The branch is stable: a customer's variant is in their state.
  assert.match((await customer(p, j, 'p0')).variant, /^ab:(A|B)$/);
});

test('control group: the report compares goal conversion by hand-checkable numbers', async () => {
  const p = await project();
  const j = await launch(p, {
    name: 'cg', control_percent: 50, entry: { type: 'event', event: 'signup' },
    goal: { event: 'fund_subscribe', within: '7d' },
    start: 's', nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'w' }, w: { type: 'wait', duration: '7d', next: 'e' }, e: { type: 'exit' } },
  });
  const people = Array.from({ length: 60 }, (_, i) => `c${i}`);
  await ingest(p, people.map((id) => track(id, 'signup')));
  await waitFor(async () => (await report(p, j)).entered === 60);
  // Arms are known from the state; make 6 of the treatment and 2 of the control convert.
  const arms = {};
  for (const id of people) arms[id] = (await customer(p, j, id)).control ? 'control' : 'treatment';
  const treatment = people.filter((id) => arms[id] === 'treatment');
  const control = people.filter((id) => arms[id] === 'control');
  assert.ok(treatment.length > 10 && control.length > 10, `${treatment.length}/${control.length}`);
  await ingest(p, [...treatment.slice(0, 6), ...control.slice(0, 2)].map((id) => track(id, 'fund_subscribe')));
  await waitFor(async () => (await report(p, j)).goal_reached === 8);
  const rep = await report(p, j);
  const t = rep.control_group.arms[0], c = rep.control_group.arms[1];
  assert.deepEqual([t.entered, t.converted, c.entered, c.converted], [treatment.length, 6, control.length, 2]);
  // By hand: rates, uplift, pooled z-test.
  const rt = 6 / treatment.length, rc = 2 / control.length;
  const pooled = 8 / 60;
  const z = (rt - rc) / Math.sqrt(pooled * (1 - pooled) * (1 / treatment.length + 1 / control.length));
  assert.ok(Math.abs(rep.control_group.comparison.uplift_absolute - (rt - rc)) < 1e-9);
  assert.ok(Math.abs(rep.control_group.comparison.z - z) < 1e-9);
  assert.ok(rep.control_group.comparison.ci95[0] < rt - rc && rt - rc < rep.control_group.comparison.ci95[1]);
  // Per node: everyone converted while waiting in w.
  assert.equal(rep.nodes.w.goal, 8);
  // Control customers were never touched; each suppression is in the ledger.
  assert.equal(rep.nodes.s.sent, treatment.length);
  assert.equal(rep.nodes.s['suppressed.control_group'], control.length);
  await waitFor(async () => received(p).length === treatment.length);
  assert.ok(received(p).every((r) => arms[r.json.distinct_id] === 'treatment'));
  assert.equal((await ledger(p, `distinct_id=${control[0]}`))[0].reason, 'control_group');
});

test('versions: customers inside stay on their version, new entries take the published one', async () => {
  const p = await project({ v2: { channel: 'hook', body: 'second version' } });
  const def = (template) => ({ name: 'v', entry: { type: 'event', event: 'ping' }, start: 'w',
    nodes: { w: { type: 'wait', duration: '1h', next: 's' }, s: { type: 'send', channel: 'hook', template, next: 'e' }, e: { type: 'exit' } } });
  const j = await launch(p, def('hello'));
  await ingest(p, [profile('old', { name: 'Old' }), track('old', 'ping')]);
  await waitFor(async () => (await customer(p, j, 'old')).state === 'active');
  let r = await srv.api('PUT', `${base(p)}/journeys/${j}`, def('v2'), as('alice'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.current_version, 2);
  assert.equal(r.body.live_version, 1);
  for (const [action, who] of [['submit', 'alice'], ['approve', 'bob'], ['publish', 'alice']]) {
    r = await srv.api('POST', `${base(p)}/journeys/${j}/${action}`, undefined, as(who));
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
  assert.equal(r.body.live_version, 2);
  await ingest(p, [track('new', 'ping')]);
  await waitFor(async () => (await customer(p, j, 'new')).state === 'active');
  assert.equal((await customer(p, j, 'new')).version, 2);
  assert.equal((await customer(p, j, 'old')).version, 1);
  await advance(HOUR + MIN);
  const texts = Object.fromEntries(received(p).map((x) => [x.json.distinct_id, x.json.text]));
  assert.deepEqual(texts, { old: 'Hello Old', new: 'second version' });
  const versions = await srv.api('GET', `${base(p)}/journeys/${j}/versions`);
  assert.equal(versions.body.versions.length, 2);
});

test('versions: publish with migration move takes customers to the same node of the new version; a node it lacks keeps them on theirs', async () => {
  const p = await project({ v2: { channel: 'hook', body: 'second version {{profile.name}}' } });
  // v1: gold customers wait in w, the others in x; v2 has no split and no x.
  const v1 = { name: 'm', entry: { type: 'event', event: 'ping' }, start: 'tier',
    nodes: {
      tier: { type: 'split', condition: { profile: 'tier', op: '=', value: 'gold' }, yes: 'w', no: 'x' },
      w: { type: 'wait', duration: '1h', next: 's' },
      x: { type: 'wait', duration: '1h', next: 's' },
      s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' },
      e: { type: 'exit' },
    } };
  const v2 = { name: 'm', entry: { type: 'event', event: 'ping' }, start: 'w',
    nodes: { w: { type: 'wait', duration: '1h', next: 's' }, s: { type: 'send', channel: 'hook', template: 'v2', next: 'e' }, e: { type: 'exit' } } };
  const j = await launch(p, v1);
  await ingest(p, [profile('gold', { name: 'Gold', tier: 'gold' }), profile('silver', { name: 'Silver', tier: 'silver' }),
    track('gold', 'ping'), track('silver', 'ping')]);
  await waitFor(async () => (await customer(p, j, 'gold')).node === 'w' && (await customer(p, j, 'silver')).node === 'x');
  await advance(30 * MIN);
  let r = await srv.api('PUT', `${base(p)}/journeys/${j}`, v2, as('alice'));
  assert.equal(r.status, 200, r.text);
  for (const [action, who] of [['submit', 'alice'], ['approve', 'bob']]) {
    r = await srv.api('POST', `${base(p)}/journeys/${j}/${action}`, undefined, as(who));
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
  r = await srv.api('POST', `${base(p)}/journeys/${j}/publish`, { migration: 'teleport' }, as('alice'));
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.field, 'migration');
  r = await srv.api('POST', `${base(p)}/journeys/${j}/publish`, { migration: 'move' }, as('alice'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.live_version, 2);
  assert.match(r.body.comment, /1 moved, 1 stayed/);
  const gold = await customer(p, j, 'gold');
  assert.deepEqual([gold.version, gold.node], [2, 'w']);
  const silver = await customer(p, j, 'silver');
  assert.deepEqual([silver.version, silver.node], [1, 'x']);
  // The moved wait keeps its due time: both sends come an hour after entry, not after publish.
  await advance(31 * MIN);
  const texts = Object.fromEntries(received(p).map((x) => [x.json.distinct_id, x.json.text]));
  assert.deepEqual(texts, { gold: 'second version Gold', silver: 'Hello Silver' });
  assert.equal((await report(p, j)).nodes.s.sent, 2);
});

test('advisor task: assigned by profile, claimed, completed; the outcome is an event the journey branches on; SLA escalation', async () => {
  const p = await project();
  const j = await launch(p, {
    name: 'mot', entry: { type: 'event', event: 'deposit', where: [{ property: 'amount', op: '>=', value: 100000 }] }, start: 'call',
    nodes: {
      call: { type: 'task', title: '大额入金回访', assign: { property: 'advisor_id', pool: 'desk' }, sla: '4h', escalate_to: 'team_lead', next: 'wait' },
      wait: { type: 'wait', event: '$task_completed', where: [{ property: 'outcome', op: '=', value: 'interested' }], timeout: '2d', next: 'thanks', timeout_next: 'e' },
      thanks: { type: 'send', channel: 'hook', template: 'hello', next: 'e' },
      e: { type: 'exit' },
    },
  });
  await ingest(p, [profile('u1', { advisor_id: 'adv007', name: 'U1' }), profile('u2', { name: 'U2' }),
    track('u1', 'deposit', { amount: 300000 }), track('u2', 'deposit', { amount: 150000 })]);
  const tasks = await waitFor(async () => {
    const r = await srv.api('GET', `${base(p)}/tasks`);
    return r.body.tasks.length === 2 && r.body.tasks;
  });
  const t1 = tasks.find((t) => t.distinct_id === 'u1');
  const t2 = tasks.find((t) => t.distinct_id === 'u2');
  assert.equal(t1.assignee, 'adv007');
  assert.equal(t2.assignee, '');
  assert.equal(t2.pool, 'desk');
  const mine = await srv.api('GET', `${base(p)}/tasks?assignee=adv007`);
  assert.deepEqual(mine.body.tasks.map((t) => t.id), [t1.id]);
  let r = await srv.api('POST', `${base(p)}/tasks/${encodeURIComponent(t1.id)}/claim`, { assignee: 'adv007' });
  assert.equal(r.body.status, 'claimed', r.text);
  r = await srv.api('POST', `${base(p)}/tasks/${encodeURIComponent(t1.id)}/complete`, { outcome: 'interested', note: '约了周三面谈' });
  assert.equal(r.body.status, 'completed', r.text);
  await waitFor(async () => (await customer(p, j, 'u1')).state === 'exited');
  await waitFor(async () => received(p).length === 1);
  // u2's task passes its 4h SLA unclaimed: escalated to the team lead.
  await advance(5 * HOUR);
  r = await srv.api('GET', `${base(p)}/tasks?status=escalated`);
  assert.deepEqual(r.body.tasks.map((t) => [t.distinct_id, t.assignee]), [['u2', 'team_lead']]);
});

test('in-app messages are pulled by the app with the project token', async () => {
  const p = uniqueName('jr');
  await srv.createProject(p, 'app-token');
  let r = await srv.api('PUT', `${base(p)}/channels/inapp`, { type: 'inapp' });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('PUT', `${base(p)}/templates/pop`, { channel: 'inapp', subject: '新功能', body: '{{profile.name}}，试试定投' }, as('alice'));
  assert.equal(r.status, 200, r.text);
  await srv.api('POST', `${base(p)}/templates/pop/approve`, undefined, as('bob'));
  const j = await launch(p, { name: 'i', entry: { type: 'event', event: 'login' }, start: 's',
    nodes: { s: { type: 'send', channel: 'inapp', template: 'pop', next: 'e' }, e: { type: 'exit' } } });
  const t = await now();
  r = await srv.records(p, [{ type: 'profile_set', distinct_id: 'u1', time: t, _track_id: 1, properties: { name: '小明' } },
    { type: 'track', event: 'login', distinct_id: 'u1', time: t, _track_id: 2, properties: {} }]);
  assert.equal(r.status, 200, r.text);
  await waitFor(async () => (await customer(p, j, 'u1')).state === 'exited');
  const denied = await srv.api('GET', `${base(p)}/inapp/u1`, undefined, { token: 'wrong' });
  assert.equal(denied.status, 401);
  const pulled = await srv.api('GET', `${base(p)}/inapp/u1`, undefined, { token: 'app-token' });
  assert.equal(pulled.status, 200, pulled.text);
  assert.deepEqual(pulled.body.messages.map((m) => [m.title, m.body]), [['新功能', '小明，试试定投']]);
  const again = await srv.api('GET', `${base(p)}/inapp/u1`, undefined, { token: 'app-token' });
  assert.equal(again.body.messages.length, 0, 'a message is handed out once');
  await waitFor(async () => (await report(p, j)).nodes.s.delivered === 1);
});

test('webhook delivery retries a failing receiver with backoff and the same idempotency key', async () => {
  const p = await project();
  let calls = 0;
  receiver.respondWith((req) => {
    if (req.path !== `/${p}`) return { status: 200, body: '{}' };
    calls += 1;
    return calls < 3 ? { status: 503, body: '{"busy":true}' } : { status: 200, body: '{}' };
  });
  try {
    const j = await launch(p, { name: 'r', entry: { type: 'event', event: 'ping' }, start: 's',
      nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
    await ingest(p, [track('u1', 'ping')]);
    await waitFor(async () => received(p).length >= 1, 5000);
    await advance(10_000);
    await waitFor(async () => (await report(p, j)).nodes.s.delivered === 1, 5000);
    const keys = new Set(received(p).map((r) => r.headers['idempotency-key']));
    assert.equal(received(p).length, 3);
    assert.equal(keys.size, 1);
  } finally {
    receiver.respondWith(() => undefined);
  }
});

test('delivery finds a message written below where its outbox scan stopped (same millisecond, smaller touch id)', async () => {
  // The simulated clock stands still, so both messages carry the same creation time and their
  // outbox keys order by touch id: "…:10:1" sorts before "…:9:1", which the scan already passed.
  const p = await project();
  const j = await launch(p, { name: 'order', entry: { type: 'event', event: 'ping' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
  const users = Array.from({ length: 10 }, (_, i) => `u${i + 1}`);
  await ingest(p, users.map((id) => profile(id, { name: id })));
  await ingest(p, [track('u9', 'ping')]);
  await waitFor(async () => received(p).length === 1, 5000);
  await ingest(p, [track('u10', 'ping')]);
  await waitFor(async () => received(p).length === 2, 5000);
  assert.deepEqual(received(p).map((r) => r.headers['idempotency-key']), [`${j}:v1:s:9:1`, `${j}:v1:s:10:1`]);
  await waitFor(async () => (await report(p, j)).nodes.s.delivered === 2, 5000);
});

test('an edited template is sent only once approved again; the approved content stays live meanwhile', async () => {
  const p = await project({ offer: { channel: 'hook', body: '老文案 {{profile.name}}' } });
  const j = await launch(p, { name: 't', entry: { type: 'event', event: 'ping' }, reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'offer', next: 'e' }, e: { type: 'exit' } } });
  let r = await srv.api('PUT', `${base(p)}/templates/offer`, { channel: 'hook', body: '新文案 {{profile.name}}' }, as('alice'));
  assert.equal(r.body.status, 'draft', r.text);
  assert.equal(r.body.approved.body, '老文案 {{profile.name}}');
  await ingest(p, [profile('u1', { name: 'U' }), track('u1', 'ping')]);
  await waitFor(async () => received(p).length === 1);
  assert.equal(received(p)[0].json.text, '老文案 U');
  r = await srv.api('POST', `${base(p)}/templates/offer/approve`, undefined, as('bob'));
  assert.equal(r.status, 200, r.text);
  await advance(DAY);
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => received(p).length === 2);
  assert.equal(received(p)[1].json.text, '新文案 U');
  const missing = await srv.api('GET', `${base(p)}/ledger?journey=nope`);
  assert.equal(missing.status, 404);
  void j;
});

test('caps count a touch sent earlier in the same step (two sends in a row)', async () => {
  const p = await project({}, { caps: [{ count: 1, per: 'day' }] });
  const j = await launch(p, { name: 'two', entry: { type: 'event', event: 'ping' }, start: 's1',
    nodes: { s1: { type: 'send', channel: 'hook', template: 'hello', next: 's2' }, s2: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } });
  await ingest(p, [track('u1', 'ping')]);
  await waitFor(async () => (await report(p, j)).exited === 1);
  const rep = await report(p, j);
  assert.equal(rep.nodes.s1.sent, 1);
  assert.equal(rep.nodes.s2['suppressed.frequency_cap'], 1);
});
