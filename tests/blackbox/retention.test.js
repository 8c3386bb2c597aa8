'use strict';
// Retention by age, per project (issue: security and privacy, "retention policies by age"):
// PUT /api/v1/projects/{p} {"retention_days": N} deletes the project's event days older than N
// days at once and from then on; other projects keep the server default. On the simulated clock:
// events of day 0 in two projects, the clock moved 40 days, a 30-day policy on one project —
// its old day is gone from queries and from the data directory, and stays gone after a restart;
// the other project still answers for day 0. Bad values are 400 naming the field.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const J = require('../lib/journeys');

let ctx;
after(async () => { if (ctx) await ctx.stop(); });

test('a project\'s retention policy deletes its expired event days, and only its own', { timeout: 120000 }, async () => {
  ctx = await J.startJourneyServer();
  const { srv } = ctx;
  const short = await J.project(ctx);
  const kept = await J.project(ctx);
  for (const p of [short, kept]) {
    await J.ingest(ctx, p, [J.track('old-1', 'OldVisit'), J.track('old-2', 'OldVisit')]);
  }
  const oldDay = new Date(J.START_MS + 8 * J.HOUR).toISOString().slice(0, 10);
  await J.advance(ctx, 40 * J.DAY);
  for (const p of [short, kept]) await J.ingest(ctx, p, [J.track('new-1', 'NewVisit')]);
  const count = async (p, event, from, to) => {
    const r = await srv.api('POST', `${J.base(p)}/query`, { type: 'events', from, to, unit: 'total', measures: [{ event }] });
    assert.equal(r.status, 200, r.text);
    return r.body.rows.length ? r.body.rows[0][1] : 0;
  };
  const today = new Date((await J.now(ctx)) + 8 * J.HOUR).toISOString().slice(0, 10);
  let r = await srv.api('GET', J.base(short));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.retention_days, 0);
  assert.equal(r.body.events_kept_days, null);  // the server default: forever
  assert.equal(await count(short, 'OldVisit', oldDay, oldDay), 2);

  r = await srv.api('PUT', J.base(short), { retention_days: 30 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.retention_days, r.body.events_kept_days], [30, 30]);
  assert.equal(await count(short, 'OldVisit', oldDay, oldDay), 0);
  assert.equal(await count(short, 'NewVisit', today, today), 1);
  assert.equal(await count(kept, 'OldVisit', oldDay, oldDay), 2);
  r = await srv.api('GET', '/api/v1/projects');
  assert.equal(r.body.projects.find((p) => p.name === short).retention_days, 30);
  await srv.restart();
  assert.equal(await count(short, 'OldVisit', oldDay, oldDay), 0);
  assert.equal(await count(kept, 'OldVisit', oldDay, oldDay), 2);
  r = await srv.api('GET', J.base(short));
  assert.equal(r.body.retention_days, 30);
  // On disk (heads were flushed at the stop): the kept project's two days and the short
  // project's new day; nothing of the short project's expired day.
  const eventsDir = path.join(srv.dataDir, 'events');
  const dayDirs = fs.readdirSync(eventsDir).filter((d) => /^p\d+$/.test(d))
    .flatMap((d) => fs.readdirSync(path.join(eventsDir, d)).map((day) => `${d}/${day}`));
  assert.equal(dayDirs.length, 3, dayDirs.join(', '));

  for (const body of [{ retention_days: -5 }, { retention_days: 'soon' }, {}]) {
    r = await srv.api('PUT', J.base(kept), body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.field, 'retention_days');
  }
});
