'use strict';
// Helpers for the journey black-box suites: a server on the simulated clock, an HTTP receiver
// for webhook channels, projects with approved templates, the maker-checker launch, ingest at
// the simulated time, and readers for customer state, reports and the ledger.

const assert = require('node:assert/strict');
const { startServer, uniqueName } = require('./server');
const { startHttpReceiver } = require('./receivers');

// Monday 2026-01-05 09:00 in Asia/Shanghai.
const START_MS = Date.UTC(2026, 0, 5, 1, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SECRET = 'webhook-secret';
const base = (p) => `/api/v1/projects/${encodeURIComponent(p)}`;
const as = (operator) => ({ headers: { 'X-Sextant-Operator': operator } });
const track = (id, event, properties = {}) => ({ type: 'track', event, distinct_id: id, properties });
const profile = (id, properties) => ({ type: 'profile_set', distinct_id: id, properties });

// A server on the simulated clock with operators alice (maker), bob (approver), carol (both),
// and a receiver for webhook channels. Returns the context every helper below takes.
async function startJourneyServer(opts = {}) {
  const srv = await startServer({ ...opts, extraArgs: ['--clock', 'simulated', '--clock-start-ms', String(opts.startMs || START_MS), ...(opts.extraArgs || [])] });
  const receiver = await startHttpReceiver({ secret: SECRET });
  const ops = await srv.api('PUT', '/api/v1/admin/operators', { alice: ['maker'], bob: ['approver'], carol: ['maker', 'approver'] });
  assert.equal(ops.status, 200, ops.text);
  const ctx = { srv, receiver };
  ctx.stop = async () => {
    await receiver.close();
    await srv.stop();
  };
  return ctx;
}

async function now(ctx) {
  const r = await ctx.srv.api('GET', '/api/v1/admin/clock');
  assert.equal(r.status, 200, r.text);
  return r.body.now_ms;
}
async function advance(ctx, ms) {
  const r = await ctx.srv.api('POST', '/api/v1/admin/clock', { advance_seconds: Math.round(ms / 1000) });
  assert.equal(r.status, 200, r.text);
  return r.body.now_ms;
}
// Moves the clock to the next local (Asia/Shanghai) time hh:mm.
async function advanceToLocal(ctx, hh, mm) {
  const t = await now(ctx);
  let target = Math.floor((t + 8 * HOUR) / DAY) * DAY + hh * HOUR + mm * MIN - 8 * HOUR;
  if (target <= t) target += DAY;
  return advance(ctx, target - t);
}

// A project with a webhook channel "hook" (recipient: the distinct id) and approved templates
// (always "hello": "Hello {{profile.name}}"); `rules` are its touch rules.
async function project(ctx, templates = {}, rules, token) {
  const { srv, receiver } = ctx;
  const p = uniqueName('jr');
  await srv.createProject(p, token);
  let r = await srv.api('PUT', `${base(p)}/channels/hook`, { type: 'webhook', url: `${receiver.url}/${p}`, secret: SECRET });
  assert.equal(r.status, 200, r.text);
  if (rules) {
    r = await srv.api('PUT', `${base(p)}/touch-rules`, rules);
    assert.equal(r.status, 200, r.text);
  }
  await approveTemplates(ctx, p, { hello: { channel: 'hook', body: 'Hello {{profile.name}}' }, ...templates });
  return p;
}

async function approveTemplates(ctx, p, templates) {
  for (const [name, def] of Object.entries(templates)) {
    let r = await ctx.srv.api('PUT', `${base(p)}/templates/${name}`, def, as('alice'));
    assert.equal(r.status, 200, r.text);
    r = await ctx.srv.api('POST', `${base(p)}/templates/${name}/approve`, undefined, as('bob'));
    assert.equal(r.status, 200, r.text);
  }
}

// Creates, submits (alice), approves (bob) and starts a journey; returns its id.
async function launch(ctx, p, definition) {
  let r = await ctx.srv.api('POST', `${base(p)}/journeys`, definition, as('alice'));
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  for (const [action, who] of [['submit', 'alice'], ['approve', 'bob'], ['start', 'alice']]) {
    r = await ctx.srv.api('POST', `${base(p)}/journeys/${id}/${action}`, undefined, as(who));
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
  return id;
}

let trackIds = 0;
// Ingests records stamped with the simulated time (unless they carry one).
async function ingest(ctx, p, records) {
  const t = await now(ctx);
  const list = records.map((r) => ({ time: t, _track_id: ++trackIds * 7919 + (t % 100000), ...r }));
  const r = await ctx.srv.records(p, list);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, list.length, r.text);
}

async function customer(ctx, p, journey, id) {
  const r = await ctx.srv.api('GET', `${base(p)}/journeys/${journey}/customers/${encodeURIComponent(id)}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}
async function report(ctx, p, journey) {
  const r = await ctx.srv.api('GET', `${base(p)}/journeys/${journey}/report`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}
async function ledger(ctx, p, query) {
  const r = await ctx.srv.api('GET', `${base(p)}/ledger?${query}`);
  assert.equal(r.status, 200, r.text);
  return r.body.entries;
}
const received = (ctx, p) => ctx.receiver.requests.filter((r) => r.path === `/${p}`);

module.exports = {
  START_MS, MIN, HOUR, DAY, SECRET, base, as, track, profile, startJourneyServer, now, advance,
  advanceToLocal, project, approveTemplates, launch, ingest, customer, report, ledger, received,
};
