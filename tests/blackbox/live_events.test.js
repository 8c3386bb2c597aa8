'use strict';
// The live event stream (GET /api/v1/projects/{p}/events/recent): silent until watched, then the
// newest committed events first with their properties, paged by `after`, personal data masked
// for roles without pii.read.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, uniqueName, waitFor } = require('../lib/server');

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => srv && srv.stop());

test('events committed while someone watches are streamed newest first', async () => {
  const p = uniqueName('live');
  await srv.createProject(p);
  const url = `/api/v1/projects/${p}/events/recent`;
  // Not watched yet: nothing is kept.
  let r = await srv.records(p, [{ type: 'track', event: 'before_watch', distinct_id: 'u0', properties: {} }]);
  assert.equal(r.status, 200, r.text);
  r = await srv.api('GET', url);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.events, []);
  assert.ok(r.body.watching_since > 0);
  r = await srv.records(p, [
    { type: 'track', event: 'view_fund', distinct_id: 'u1', properties: { fund: 'F001', phone: '13812345678' } },
    { type: 'track', event: 'buy_fund', distinct_id: 'u1', properties: { amount: 5000 } },
  ]);
  assert.equal(r.status, 200, r.text);
  const events = await waitFor(async () => {
    const x = await srv.api('GET', url);
    return x.body.events.length === 2 && x.body.events;
  }, 5000);
  assert.deepEqual(events.map((e) => e.event), ['buy_fund', 'view_fund']);
  assert.equal(events[0].properties.amount, 5000);
  assert.equal(events[1].distinct_id, 'u1');
  assert.ok(events[0].seq > events[1].seq);
  // Paging: only what came after the newest seen.
  r = await srv.records(p, [{ type: 'track', event: 'logout', distinct_id: 'u1', properties: {} }]);
  const newer = await waitFor(async () => {
    const x = await srv.api('GET', `${url}?after=${events[0].seq}`);
    return x.body.events.length === 1 && x.body.events;
  }, 5000);
  assert.equal(newer[0].event, 'logout');
  // An analyst (no pii.read) sees the phone masked.
  r = await srv.api('POST', '/api/v1/admin/accounts', { name: 'live-analyst', password: 'long enough password', roles: ['analyst'] });
  assert.equal(r.status, 201, r.text);
  const login = await srv.api('POST', '/api/v1/auth/login', { name: 'live-analyst', password: 'long enough password' }, { token: null });
  r = await srv.api('GET', url, undefined, { token: login.body.token });
  const view = r.body.events.find((e) => e.event === 'view_fund');
  assert.equal(view.properties.phone, '138****5678');
  assert.equal(view.properties.fund, 'F001');
});
