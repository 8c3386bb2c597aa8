'use strict';
// Black-box: dry runs and backtests (docs/journeys.md), and the template library in
// examples/journeys/ — every bundle is loaded into a project (segments, channels, templates,
// its sample customer), dry-run with its sample events and checked against the path it
// documents, then submitted, approved and started, which checks its references. The flagship
// fund auto-investment journey also runs live, with a control group, caps and quiet hours.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { REPO } = require('../lib/server');
const J = require('../lib/journeys');
const { MIN, HOUR, DAY, base, as, track, profile } = J;

let ctx;
let srv;
before(async () => {
  ctx = await J.startJourneyServer();
  ({ srv } = ctx);
});
after(async () => { if (ctx) await ctx.stop(); });

test('dry run: the path, each decision and the rendered message, on simulated time, without sending', async () => {
  const p = await J.project(ctx, { nudge: { channel: 'hook', body: '{{profile.name}}，开户还差一步' } },
    { quiet_hours: [{ from: '21:00', to: '08:00' }] });
  const definition = {
    name: 'breakpoint', entry: { type: 'breakpoint', event: 'open_start', not_followed_by: 'open_submit', wait: '30m' },
    start: 'vip', nodes: {
      vip: { type: 'split', condition: { profile: 'tier', op: '=', value: 'gold' }, yes: 's', no: 'e' },
      s: { type: 'send', channel: 'hook', template: 'nudge', next: 'e' }, e: { type: 'exit' },
    },
  };
  const t = await J.now(ctx);
  const offsetTo2130 = (Math.floor((t + 8 * HOUR) / DAY) * DAY + 21.5 * HOUR - 8 * HOUR) - t + (((t + 8 * HOUR) % DAY) > 21.5 * HOUR ? DAY : 0);
  const r = await srv.api('POST', `${base(p)}/journeys/dry-run`, {
    definition, profile: { name: '李雷', tier: 'gold' },
    events: [{ event: 'open_start', offset: `${Math.round(offsetTo2130 / 1000)}s` }],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.path, ['vip', 's', 'e']);
  const steps = r.body.trace.map((s) => `${s.step}:${s.detail}@${s.local_time.slice(11, 16)}`);
  assert.deepEqual(steps, ['event:open_start@21:30', 'enter:breakpoint@22:00', 'node:vip@22:00', 'node:s@22:00',
    'deferred:quiet_hours@22:00', 'sent:hook@08:00', 'node:e@08:00', 'exit:exit_node@08:00']);
  assert.equal(r.body.decisions.length, 1);
  assert.equal(r.body.decisions[0].content, '李雷，开户还差一步');
  assert.equal(r.body.messages[0].body, '李雷，开户还差一步');
  assert.deepEqual(r.body.events.map((e) => e.event), ['$journey_enter', '$touch_sent', '$journey_exit']);
  // A customer who submits in time never enters; one who is not gold exits at the split.
  const submitted = await srv.api('POST', `${base(p)}/journeys/dry-run`, {
    definition, profile: { tier: 'gold' }, events: [{ event: 'open_start' }, { event: 'open_submit', offset: '10m' }],
  });
  assert.deepEqual(submitted.body.path, []);
  const silver = await srv.api('POST', `${base(p)}/journeys/dry-run`, { definition, profile: { tier: 'silver' }, events: [{ event: 'open_start' }] });
  assert.deepEqual(silver.body.path, ['vip', 'e']);
  // Nothing was sent, nothing reached the project's ledger.
  assert.equal(J.received(ctx, p).length, 0);
  assert.equal((await J.ledger(ctx, p, 'limit=10')).length, 0);
  // Errors name the field.
  const bad = await srv.api('POST', `${base(p)}/journeys/dry-run`, { definition: { ...definition, start: 'nope' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'definition.start');
});

test('backtest: replays stored events through a journey version and predicts entries, touches, suppressions, conversions', async () => {
  const p = await J.project(ctx, {}, { caps: [{ count: 1, per: 'day' }] });
  // History: three days ago, five customers deposit; u1 deposits twice (re-entry after exit),
  // u2 and u3 subscribe within a day; u5's deposit is too small.
  const t0 = (await J.now(ctx)) - 3 * DAY;
  const rec = (id, event, at, properties = {}) => ({ type: 'track', event, distinct_id: id, time: at, _track_id: Math.floor(at / 1000) % 1e9 + id.length * 7 + event.length, properties });
  const r = await srv.records(p, [
    rec('u1', 'deposit', t0, { amount: 200000 }), rec('u2', 'deposit', t0 + MIN, { amount: 150000 }),
    rec('u3', 'deposit', t0 + 2 * MIN, { amount: 300000 }), rec('u4', 'deposit', t0 + 3 * MIN, { amount: 100000 }),
    rec('u5', 'deposit', t0 + 4 * MIN, { amount: 500 }),
    rec('u2', 'fund_subscribe', t0 + HOUR), rec('u3', 'fund_subscribe', t0 + 5 * HOUR),
    rec('u1', 'deposit', t0 + 2 * HOUR, { amount: 120000 }),
  ]);
  assert.equal(r.status, 200, r.text);
  const j = await J.launch(ctx, p, {
    name: 'bt', entry: { type: 'event', event: 'deposit', where: [{ property: 'amount', op: '>=', value: 100000 }] },
    reentry: { mode: 'after_exit' }, goal: { event: 'fund_subscribe', within: '1d' },
    start: 's', nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'w' }, w: { type: 'wait', duration: '30m', next: 'e' }, e: { type: 'exit' } },
  });
  const day = (ms) => new Date(ms + 8 * HOUR).toISOString().slice(0, 10);
  const bt = await srv.api('POST', `${base(p)}/journeys/${j}/backtest`, { from: day(t0 - DAY), to: day(t0 + DAY) });
  assert.equal(bt.status, 200, bt.text);
  const predicted = bt.body.predicted;
  // Entries: u1 (twice: the second deposit comes after the first stay ended), u2, u3, u4.
  assert.equal(predicted.entered, 5);
  // Touches: u1's second is capped (one per calendar day); the other four are sent.
  assert.equal(predicted.nodes.s.sent, 4);
  assert.equal(predicted.nodes.s['suppressed.frequency_cap'], 1);
  // Goals: u2 and u3 subscribed within a day of entering.
  assert.equal(predicted.goal_reached, 2);
  assert.equal(bt.body.events_replayed, 8);
  // Nothing was sent and the live journey saw nothing.
  assert.equal(J.received(ctx, p).length, 0);
  assert.equal((await J.report(ctx, p, j)).entered, 0);
});

// Loads a template bundle into a fresh project: channels for every channel name the bundles use,
// its segments, its templates (approved) and its sample customer.
async function loadBundle(bundle, sample) {
  const p = await J.project(ctx);
  const url = ctx.receiver.url;
  const channels = {
    sms: { type: 'webhook', url: `${url}/${p}/sms`, secret: J.SECRET, recipient_property: 'phone' },
    push: { type: 'webhook', url: `${url}/${p}/push`, secret: J.SECRET },
    wechat: { type: 'webhook', url: `${url}/${p}/wechat`, secret: J.SECRET },
    email: { type: 'webhook', url: `${url}/${p}/email`, secret: J.SECRET },
    webhook: { type: 'webhook', url: `${url}/${p}/webhook`, secret: J.SECRET },
    inapp: { type: 'inapp' },
  };
  for (const [name, config] of Object.entries(channels)) {
    const r = await srv.api('PUT', `${base(p)}/channels/${name}`, config);
    assert.equal(r.status, 200, r.text);
  }
  await J.ingest(ctx, p, [profile(sample, { phone: '+8613700000000', ...bundle.dry_run.profile })]);
  for (const segment of bundle.segments) {
    let r = await srv.api('POST', `${base(p)}/segments`, segment);
    assert.equal(r.status, 201, `${segment.name}: ${r.text}`);
    r = await srv.api('POST', `${base(p)}/segments/${r.body.id}/refresh`);
    assert.equal(r.status, 200, r.text);
  }
  const names = new Set();
  for (const template of bundle.templates) {
    const r = await srv.api('PUT', `${base(p)}/templates/${template.name}`, template, as('alice'));
    assert.equal(r.status, 200, `${template.name}: ${r.text}`);
    names.add(template.name);
  }
  for (const name of names) {
    const r = await srv.api('POST', `${base(p)}/templates/${name}/approve`, undefined, as('bob'));
    assert.equal(r.status, 200, r.text);
  }
  return p;
}

const bundles = fs.readdirSync(path.join(REPO, 'examples', 'journeys')).filter((f) => f.endsWith('.json')).sort();

test('the template library has at least ten finance scenarios', () => {
  assert.ok(bundles.length >= 10, bundles.join(', '));
  assert.ok(bundles.includes('fund_auto_invest.json'));
});

for (const file of bundles) {
  test(`template ${file}: the dry run follows the documented path, and the journey passes review`, async () => {
    const bundle = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', 'journeys', file), 'utf8'));
    const sample = `sample-${file.replace('.json', '')}`;
    const p = await loadBundle(bundle, sample);
    const r = await srv.api('POST', `${base(p)}/journeys/dry-run`, {
      definition: bundle.journey, distinct_id: sample, events: bundle.dry_run.events,
    });
    assert.equal(r.status, 200, r.text);
    const expected = bundle.dry_run.expect_path ? [bundle.dry_run.expect_path] : bundle.dry_run.expect_path_any;
    assert.ok(expected.some((option) => JSON.stringify(option) === JSON.stringify(r.body.path)),
      `path ${JSON.stringify(r.body.path)} is not one of ${JSON.stringify(expected)}\n${JSON.stringify(r.body.trace)}`);
    await J.launch(ctx, p, bundle.journey);
  });
}

test('fund auto-investment, live: breakpoint → suitability → A/B push → wait for subscription → auto-invest pitch', async () => {
  const bundle = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', 'journeys', 'fund_auto_invest.json'), 'utf8'));
  const p = await loadBundle(bundle, 'investor');
  let r = await srv.api('PUT', `${base(p)}/touch-rules`, {
    caps: [{ channel: '*', count: 3, per: 'day' }], quiet_hours: [{ from: '21:00', to: '08:00', action: 'defer' }],
  });
  assert.equal(r.status, 200, r.text);
  await srv.records(p, [{ type: 'item_set', item_type: 'fund', item_id: '006228', time: await J.now(ctx), properties: { name: '示例消费精选混合A', risk_level: 'R3' } }]);
  const j = await J.launch(ctx, p, bundle.journey);
  // Customers: the sample one plus 40 more with the same behaviour, so that the control group
  // (10%) and both A/B arms get people.
  const people = ['investor', ...Array.from({ length: 40 }, (_, i) => `inv${i}`)];
  // A risk assessment on file (the suitability gate needs one younger than a year).
  await J.ingest(ctx, p, people.map((id) => profile(id, { ...bundle.dry_run.profile, risk_assessed_at: '2025-12-01 10:00:00' })));
  await J.advanceToLocal(ctx, 10, 0);
  let elapsed = 0;
  for (const e of bundle.dry_run.events) {
    const offset = { m: MIN, h: HOUR, d: DAY }[e.offset.slice(-1)] * Number(e.offset.slice(0, -1));
    if (offset > elapsed) await J.advance(ctx, offset - elapsed);
    elapsed = Math.max(elapsed, offset);
    await J.ingest(ctx, p, people.map((id) => track(id, e.event, e.properties)));
  }
  await J.advance(ctx, 5 * DAY);
  const rep = await J.report(ctx, p, j);
  assert.equal(rep.entered, people.length, JSON.stringify(rep));
  const expected = bundle.dry_run.expect_path_any;
  const state = await J.customer(ctx, p, j, 'investor');
  assert.equal(state.state, 'exited');
  const arms = rep.control_group.arms;
  assert.equal(arms[0].entered + arms[1].entered, people.length);
  assert.equal(rep.experiments[0].arms.reduce((n, a) => n + a.entered, 0), people.length);
  // Control customers got no touch; the others got the path's pushes, each in the ledger.
  for (const id of people.slice(0, 8)) {
    const c = await J.customer(ctx, p, j, id);
    const decisions = (await J.ledger(ctx, p, `distinct_id=${id}`)).filter((e) => e.kind === 'touch');
    if (c.control) assert.ok(decisions.every((d) => d.reason === 'control_group'), JSON.stringify(decisions));
    else assert.ok(decisions.some((d) => d.decision === 'sent'), JSON.stringify(decisions));
  }
  // The sample customer's touches are on the nodes of the documented paths.
  const nodesOnPath = new Set(expected.flat());
  const touched = (await J.ledger(ctx, p, 'distinct_id=investor')).filter((e) => e.kind === 'touch');
  assert.ok(touched.length >= 2, JSON.stringify(touched));
  assert.ok(touched.every((e) => nodesOnPath.has(e.node)), JSON.stringify(touched.map((e) => e.node)));
  assert.equal(rep.nodes.suitability_check.entered, people.length);
});
