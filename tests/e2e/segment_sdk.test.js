'use strict';
// End-to-end: @segment/analytics-node against the Segment-spec endpoint (/v1/batch), mapped onto
// the Sensors record model as docs/record-model.md "Segment mapping" says.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Analytics } = require('@segment/analytics-node');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { startRecordingProxy } = require('../lib/proxy');

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

const idsOf = (user) => user.identities.map((i) => `${i.key}=${i.value}`);

async function send(project, fn) {
  const proxy = await startRecordingProxy(srv.url);
  const errors = [];
  const analytics = new Analytics({ writeKey: project, host: proxy.url, path: '/v1/batch', flushAt: 2, flushInterval: 200, maxRetries: 0 });
  analytics.on('error', (e) => errors.push(e));
  fn(analytics);
  await analytics.closeAndFlush({ timeout: 15000 });
  await proxy.close();
  assert.deepEqual(errors.map(String), [], 'the SDK reported no delivery error');
  assert.ok(proxy.requests.length >= 1);
  for (const r of proxy.requests) {
    assert.equal(r.path, '/v1/batch');
    assert.equal(r.status, 200, `answer ${r.status} ${r.responseBody}`);
    // Write key = HTTP Basic user name.
    assert.equal(Buffer.from(r.headers.authorization.replace(/^Basic /, ''), 'base64').toString().split(':')[0], project);
  }
  return proxy.requests;
}

test('track / identify / page / alias land as events, profile and identities', async () => {
  const project = uniqueName('seg');
  await srv.createProject(project);
  await send(project, (a) => {
    a.track({ anonymousId: 'anon-s1', event: 'Order Completed', properties: { revenue: 42.5, currency: 'CNY' } });
    a.identify({ userId: 'seg-user-1', anonymousId: 'anon-s1', traits: { name: 'Bob', plan: 'gold' } });
    a.page({ userId: 'seg-user-1', anonymousId: 'anon-s1', name: 'Home', properties: { url: 'https://app.example/home', title: 'Home page' } });
    a.track({ userId: 'seg-user-1', anonymousId: 'anon-s1', event: 'Fund Viewed', properties: { fund_id: 'F001' } });
    a.alias({ userId: 'seg-user-1', previousId: 'anon-s1' });
  });

  const user = await waitFor(async () => {
    const r = await srv.user(project, 'seg-user-1');
    assert.equal(r.status, 200, `user seg-user-1: ${r.text}`);
    assert.equal(r.body.profile.name, 'Bob');
    assert.equal(r.body.profile.plan, 'gold');
    return r.body;
  }, 4000);
  const ids = idsOf(user);
  assert.ok(ids.includes('$identity_login_id=seg-user-1'), `identities ${ids}`);
  assert.ok(ids.includes('$identity_anonymous_id=anon-s1'), `identities ${ids}`);
  const anon = await srv.user(project, 'anon-s1', '$identity_anonymous_id');
  assert.equal(anon.status, 200);
  assert.equal(anon.body.user_id, user.user_id, 'anonymousId and userId are one user');

  const events = (await waitFor(async () => {
    const r = await srv.events(project, 'seg-user-1', 100);
    assert.equal(r.status, 200);
    const names = r.body.events.map((e) => e.event).sort();
    assert.deepEqual(names, ['$SignUp', '$pageview', 'Fund_Viewed', 'Order_Completed']);
    return r.body;
  })).events;
  const oc = events.find((e) => e.event === 'Order_Completed');
  assert.equal(oc.distinct_id, 'anon-s1');
  assert.equal(oc.properties.revenue, 42.5);
  assert.equal(oc.properties.currency, 'CNY');
  assert.equal(oc.properties.$segment_event, 'Order Completed');
  assert.ok(Math.abs(oc.time - Date.now()) < 60000);
  const pv = events.find((e) => e.event === '$pageview');
  assert.equal(pv.properties.$url, 'https://app.example/home');
  assert.equal(pv.properties.$title, 'Home page');
  assert.equal(pv.properties.page_name, 'Home');
  const fv = events.find((e) => e.event === 'Fund_Viewed');
  assert.equal(fv.distinct_id, 'seg-user-1');
  assert.equal(fv.properties.fund_id, 'F001');

  const errs = await srv.ingestErrors(project);
  assert.deepEqual(errs.body.errors, [], errs.text);
});

test('resent messages (same messageId) are stored once', async () => {
  const project = uniqueName('segdup');
  await srv.createProject(project);
  const msg = { userId: 'seg-dup', event: 'Deposit', properties: { amount: 100 }, messageId: 'fixed-message-id-1', timestamp: new Date() };
  await send(project, (a) => { a.track(msg); });
  await send(project, (a) => { a.track(msg); });
  await waitFor(async () => {
    const r = await srv.events(project, 'seg-dup', 100);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.events.length, 1, r.text);
    return true;
  });
});

test('server still healthy', async () => {
  assert.ok(await srv.healthy());
});
