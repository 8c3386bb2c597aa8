'use strict';
// Black-box: ID-Mapping through the native batch API, following the rules and examples of
// docs/identity.md (one project per scenario).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName } = require('../lib/server');

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

let seq = 1000;
const t0 = Date.now() - 600000;
function rec(type, over = {}) {
  const event = { track: 'PageView', track_signup: '$SignUp', track_id_bind: '$BindID', track_id_unbind: '$UnbindID' }[type];
  return { type, ...(event ? { event } : {}), time: t0 + (++seq) * 10, _track_id: seq, properties: {}, ...over };
}

async function project() {
  const p = uniqueName('idm');
  await srv.createProject(p);
  return p;
}

// Posts records (in order, one request each) and returns the answers.
async function post(p, ...records) {
  const answers = [];
  for (const r of records) {
    const a = await srv.records(p, [r]);
    assert.equal(a.status, 200, a.text);
    answers.push(a.body);
  }
  return answers;
}

async function userOf(p, id, key) {
  return waitFor(async () => {
    const r = await srv.user(p, id, key);
    assert.equal(r.status, 200, `user ${key || ''}=${id}: ${r.status} ${r.text}`);
    return r.body;
  });
}
const idSet = (u) => u.identities.map((i) => `${i.key}=${i.value}`).sort();
const eventsOf = async (p, id, key) => (await waitFor(async () => {
  const r = await srv.events(p, id, 100, key);
  assert.equal(r.status, 200, r.text);
  return r.body;
})).events;

test('IDM 1.0: bare distinct_id then track_signup with original_id → one user (example 1)', async () => {
  const p = await project();
  const a = await post(p, rec('track', { distinct_id: 'anon-1' }), rec('track_signup', { distinct_id: 'user-1', original_id: 'anon-1' }),
    rec('profile_set', { distinct_id: 'user-1', properties: { name: 'A' } }));
  assert.deepEqual(a.map((x) => x.accepted), [1, 1, 1]);
  const u = await userOf(p, 'user-1');
  assert.deepEqual(idSet(u), ['$identity_anonymous_id=anon-1', '$identity_login_id=user-1']);
  assert.equal(u.profile.name, 'A');
  assert.equal((await userOf(p, 'anon-1')).user_id, u.user_id);
  assert.ok(Number.isInteger(u.user_id) && u.user_id >= 1, `dense user id: ${u.user_id}`);
  const ev = await eventsOf(p, 'anon-1');
  assert.deepEqual(ev.map((e) => e.event).sort(), ['$SignUp', 'PageView']);
});

test('second login with the same anonymous id does not steal it from user-1 (example 2)', async () => {
  const p = await project();
  const C = 'cookie-C-1';
  const anonIds = { $identity_cookie_id: C, $identity_anonymous_id: C };
  await post(p,
    rec('track', { distinct_id: C, anonymous_id: C, identities: anonIds }),
    rec('track_signup', { distinct_id: 'user-1', original_id: C, login_id: 'user-1', anonymous_id: C, identities: { ...anonIds, $identity_login_id: 'user-1' } }),
    rec('track_signup', { distinct_id: 'user-2', original_id: C, login_id: 'user-2', anonymous_id: C, identities: { ...anonIds, $identity_login_id: 'user-2' } }));
  const u1 = await userOf(p, 'user-1');
  const u2 = await userOf(p, 'user-2');
  assert.notEqual(u1.user_id, u2.user_id);
  assert.deepEqual(idSet(u1), [`$identity_anonymous_id=${C}`, `$identity_cookie_id=${C}`, '$identity_login_id=user-1']);
  assert.deepEqual(idSet(u2), ['$identity_login_id=user-2']);
  assert.equal((await userOf(p, C)).user_id, u1.user_id, 'C still belongs to user-1');
  assert.equal((await userOf(p, C, '$identity_cookie_id')).user_id, u1.user_id);
  const ev2 = await eventsOf(p, 'user-2');
  assert.deepEqual(ev2.map((e) => e.event), ['$SignUp'], 'the second $SignUp is stored under user-2');
  const ev1 = await eventsOf(p, 'user-1');
  assert.deepEqual(ev1.map((e) => e.event).sort(), ['$SignUp', 'PageView']);
  const errs = await srv.ingestErrors(p);
  assert.deepEqual(errs.body.errors, [], 'not an error: the record is stored');
});

test('bind of an id owned by another user is refused with 2012, nothing changes (example 3)', async () => {
  const p = await project();
  const [ok] = await post(p, rec('track_id_bind', { distinct_id: 'alice', identities: { $identity_login_id: 'alice', $identity_mobile: '13800000001' } }));
  assert.equal(ok.accepted, 1);
  const u1 = await userOf(p, 'alice');
  const [bad] = await post(p, rec('track_id_bind', { distinct_id: 'bob', identities: { $identity_login_id: 'bob', $identity_mobile: '13800000001' } }));
  assert.equal(bad.accepted, 0);
  assert.equal(bad.rejected.length, 1);
  assert.equal(bad.rejected[0].index, 0);
  assert.equal(bad.rejected[0].code, 2012);
  assert.equal(bad.rejected[0].name, 'identity_conflict');
  assert.equal(bad.rejected[0].field, 'identities.$identity_mobile');
  const mob = await userOf(p, '13800000001', '$identity_mobile');
  assert.equal(mob.user_id, u1.user_id, 'mobile stays with alice');
  const bob = await srv.user(p, 'bob');
  assert.equal(bob.status, 404, `nothing changes: ${bob.text}`);
  const errs = await srv.ingestErrors(p);
  assert.equal(errs.body.errors.length, 1);
  assert.equal(errs.body.errors[0].code, 2012);
  assert.equal(errs.body.errors[0].field, 'identities.$identity_mobile');
});

test('bind that would give a user a second login id is refused with 2012', async () => {
  const p = await project();
  await post(p, rec('track_id_bind', { identities: { $identity_login_id: 'carol', $identity_email: 'c@x.cn' } }));
  const u = await userOf(p, 'carol');
  const [bad] = await post(p, rec('track_id_bind', { identities: { $identity_email: 'c@x.cn', $identity_cookie_id: 'ck-9', $identity_login_id: 'carol2' } }));
  assert.equal(bad.accepted, 0);
  assert.equal(bad.rejected[0].code, 2012);
  const after = await userOf(p, 'carol');
  assert.deepEqual(idSet(after), idSet(u));
  assert.equal((await srv.user(p, 'carol2')).status, 404);
});

test('unbind then reuse: the id starts a new user, history stays (example 4)', async () => {
  const p = await project();
  await post(p,
    rec('track_id_bind', { identities: { $identity_login_id: 'u4', $identity_email: 'u@x.cn' } }),
    rec('track', { identities: { $identity_email: 'u@x.cn' }, event: 'Before' }));
  const u = await userOf(p, 'u4');
  const [unb] = await post(p, rec('track_id_unbind', { identities: { $identity_email: 'u@x.cn' } }));
  assert.equal(unb.accepted, 1, JSON.stringify(unb));
  await waitFor(async () => {
    const x = await srv.user(p, 'u4');
    assert.deepEqual(idSet(x.body), ['$identity_login_id=u4']);
    return true;
  });
  const evU = await eventsOf(p, 'u4');
  assert.deepEqual(evU.map((e) => e.event).sort(), ['$BindID', '$UnbindID', 'Before'], 'history and the unbind event stay with U');
  await post(p, rec('track', { identities: { $identity_email: 'u@x.cn' }, event: 'After' }));
  const u2 = await userOf(p, 'u@x.cn', '$identity_email');
  assert.notEqual(u2.user_id, u.user_id, 'the reused id belongs to a new user');
  assert.ok(u2.user_id > u.user_id, 'dense ids grow');
  assert.deepEqual(idSet(u2), ['$identity_email=u@x.cn']);
  const ev2 = await eventsOf(p, 'u@x.cn', '$identity_email');
  assert.deepEqual(ev2.map((e) => e.event), ['After']);
});

test('unbind of an id nobody owns is refused with 2012', async () => {
  const p = await project();
  const [a] = await post(p, rec('track_id_unbind', { identities: { $identity_email: 'ghost@x.cn' } }));
  assert.equal(a.accepted, 0);
  assert.equal(a.rejected[0].code, 2012);
});

test('anonymous browsing then login attaches the login to the anonymous user (example 5)', async () => {
  const p = await project();
  const C = 'cookie-C-5';
  await post(p,
    rec('track', { distinct_id: C, identities: { $identity_cookie_id: C, $identity_anonymous_id: C } }),
    rec('track', { distinct_id: 'user-5', identities: { $identity_cookie_id: C, $identity_anonymous_id: C, $identity_login_id: 'user-5' } }));
  const u = await userOf(p, 'user-5');
  assert.equal((await userOf(p, C)).user_id, u.user_id);
  assert.equal((await eventsOf(p, 'user-5')).length, 2);
});

test('login merges the anonymous history into a customer imported earlier (example 6)', async () => {
  const p = await project();
  await post(p,
    rec('profile_set', { distinct_id: 'C100', identities: { $identity_login_id: 'C100' }, properties: { name: 'Li' } }),
    rec('track', { event: 'view_fund_detail', distinct_id: 'dev-1', identities: { $identity_anonymous_id: 'dev-1' } }));
  const customer = await userOf(p, 'C100');
  const device = await userOf(p, 'dev-1');
  assert.notEqual(customer.user_id, device.user_id);
  await post(p, rec('track_signup', { distinct_id: 'C100', original_id: 'dev-1',
    identities: { $identity_login_id: 'C100', $identity_anonymous_id: 'dev-1' } }));
  const merged = await userOf(p, 'C100');
  assert.equal(merged.user_id, customer.user_id);
  assert.deepEqual(merged.merged_user_ids, [device.user_id]);
  assert.deepEqual(idSet(merged), ['$identity_anonymous_id=dev-1', '$identity_login_id=C100']);
  assert.equal((await userOf(p, 'dev-1')).user_id, customer.user_id, 'the device id moved with its user');
  assert.equal(merged.profile.name, 'Li');
  const ev = await eventsOf(p, 'C100');
  assert.deepEqual(ev.map((e) => e.event).sort(), ['$SignUp', 'view_fund_detail'], 'anonymous history is the customer\'s');
  assert.deepEqual((await srv.ingestErrors(p)).body.errors, []);
});

test('a record carrying two different login ids is refused with 2012', async () => {
  const p = await project();
  const [a] = await post(p, rec('track', { distinct_id: 'x', login_id: 'l1', identities: { $identity_login_id: 'l2' } }));
  assert.equal(a.accepted, 0);
  assert.equal(a.rejected[0].code, 2012);
});

test('$is_login_id: true makes a bare distinct_id a login id', async () => {
  const p = await project();
  await post(p, rec('track', { distinct_id: 'login-7', properties: { $is_login_id: true } }));
  const u = await userOf(p, 'login-7', '$identity_login_id');
  assert.deepEqual(idSet(u), ['$identity_login_id=login-7']);
});

test('user ids are stable across a restart', async () => {
  const p = await project();
  await post(p, rec('track', { distinct_id: 'r-1' }), rec('track', { distinct_id: 'r-2' }));
  const a = await userOf(p, 'r-1');
  const b = await userOf(p, 'r-2');
  await srv.restart();
  assert.equal((await userOf(p, 'r-1')).user_id, a.user_id);
  assert.equal((await userOf(p, 'r-2')).user_id, b.user_id);
  await post(p, rec('track', { distinct_id: 'r-3' }));
  const c = await userOf(p, 'r-3');
  assert.ok(c.user_id > Math.max(a.user_id, b.user_id), 'no user id reused after restart');
});
