'use strict';
// End-to-end: the real sa-sdk-javascript 1.27.11 in headless Chromium (protocol notes §5.2),
// from a cross-origin page (http://app.test/), in image, ajax, beacon and batch modes, plus
// debug mode and a batch run whose first answers are lost (the SDK resends; the server must
// deduplicate). Each run uses a fresh project and a fresh browser profile; the SDK talks to the
// server through a recording proxy so the wire can be checked as well as the stored state.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { startServer, waitFor, sleep, uniqueName } = require('../lib/server');
const { startRecordingProxy } = require('../lib/proxy');
const { openAppPage, PAGE_URL } = require('../lib/browser');

const ORIGIN = 'http://app.test';
let srv;
const runs = {};   // mode -> {project, C, requests}

before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

// The §5.2 calls. Runs in the page.
function sdkCalls({ url, st, debug }) {
  const s = window.sensorsDataAnalytic201505;
  const para = { server_url: url, send_type: st === 'batch' ? 'ajax' : st, batch_send: st === 'batch' ? { send_interval: 1000 } : false };
  if (debug) para.debug_mode = true;
  s.init(para);
  s.track('ViewProduct', { product_id: 'p1', price: 9.5, tags: ['a', 'b'] });
  s.login('user-1');
  s.setProfile({ name: 'Alice', age: 30 });
  s.incrementProfile({ points: 5 });
  s.appendProfile({ interests: ['books'] });
  s.setItem('book', 'b1', { price: 31.54 });
  s.bind('$identity_mobile', '13800000000');
  return s.quick('getAnonymousID');
}

// Records carried by one captured request (GET query or POST body; data or data_list).
function decodeRecords(req) {
  const u = new URL(req.path, 'http://x');
  const params = new URLSearchParams(u.search);
  for (const [k, v] of new URLSearchParams(req.method === 'POST' ? req.body : '')) params.set(k, v);
  const payload = params.get('data_list') || params.get('data');
  if (!payload) return [];
  let raw = Buffer.from(payload, 'base64');
  if (params.get('gzip') === '1') raw = zlib.gunzipSync(raw);
  const v = JSON.parse(raw.toString('utf8'));
  return Array.isArray(v) ? v : [v];
}

const collectorRequests = (reqs) => reqs.filter((r) => r.method !== 'OPTIONS');

async function runMode(st, { debug = false, override } = {}) {
  const project = uniqueName(`web_${st}`);
  await srv.createProject(project);
  const proxy = await startRecordingProxy(srv.url, { override });
  const app = await openAppPage();
  try {
    const C = await app.page.evaluate(sdkCalls, { url: `${proxy.url}/sa?project=${project}`, st, debug });
    assert.ok(typeof C === 'string' && C.length > 10, `anonymous id: ${C}`);
    // All 7 records must reach the server (batch: the timer flushes every second).
    await waitFor(() => {
      const ids = new Set();
      for (const r of collectorRequests(proxy.requests)) for (const rec of decodeRecords(r)) ids.add(rec._track_id);
      return ids.size >= 7;
    }, 15000, 100);
    // Debug mode: the SDK alerts its verdict on each answer.
    if (debug) await waitFor(() => app.dialogs.length >= 7, 5000, 100).catch(() => {});
    // Let in-flight requests (and, with lost answers, the resends) finish.
    await sleep(st === 'batch' ? 2500 : 500);
    const run = { project, C, requests: proxy.requests.slice(), dialogs: app.dialogs.slice(), console: app.consoleLines };
    runs[debug ? 'debug' : st + (override ? '_lost' : '')] = run;
    return run;
  } finally {
    await app.close();
    await proxy.close();
  }
}

const stripPresets = (obj) => Object.fromEntries(Object.entries(obj || {}).filter(([k]) => !k.startsWith('$')));
const countBy = (arr, f) => arr.reduce((m, x) => { m[f(x)] = (m[f(x)] || 0) + 1; return m; }, {});

async function assertWebState({ project, C }) {
  const user = await waitFor(async () => {
    const r = await srv.user(project, 'user-1');
    assert.equal(r.status, 200, `GET user user-1: ${r.status} ${r.text}`);
    assert.deepEqual(stripPresets(r.body.profile), { name: 'Alice', age: 30, points: 5, interests: ['books'] });
    return r.body;
  }, 5000);
  const ids = user.identities.map((i) => `${i.key}=${i.value}`);
  for (const want of [`$identity_cookie_id=${C}`, `$identity_anonymous_id=${C}`, '$identity_login_id=user-1',
    '$identity_mobile=13800000000']) {
    assert.ok(ids.includes(want), `identity ${want} missing in ${JSON.stringify(ids)}`);
  }
  for (const [id, key] of [[C, undefined], [C, '$identity_cookie_id'], ['13800000000', '$identity_mobile'], ['user-1', '$identity_login_id']]) {
    const r = await srv.user(project, id, key);
    assert.equal(r.status, 200, `lookup ${key || 'distinct_id'}=${id}: ${r.text}`);
    assert.equal(r.body.user_id, user.user_id, `lookup ${key || 'distinct_id'}=${id} gives the same user`);
  }

  const events = (await waitFor(async () => {
    const r = await srv.events(project, 'user-1', 100);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(countBy(r.body.events, (e) => e.event), { ViewProduct: 1, $SignUp: 1, $BindID: 1 },
      `each event stored exactly once: ${r.text.slice(0, 2000)}`);
    return r.body;
  }, 5000)).events;
  const vp = events.find((e) => e.event === 'ViewProduct');
  assert.equal(vp.distinct_id, C);
  assert.equal(vp.properties.product_id, 'p1');
  assert.equal(vp.properties.price, 9.5);
  assert.deepEqual(vp.properties.tags, ['a', 'b']);
  assert.equal(vp.properties.$url, PAGE_URL);
  assert.equal(vp.properties.$title, 'SA test');
  assert.ok(vp.properties.$screen_width > 0, `$screen_width ${vp.properties.$screen_width}`);
  assert.equal(vp.properties.$is_first_day, true);
  assert.equal(vp.properties.$lib, 'js');
  assert.ok(Math.abs(vp.time - Date.now()) < 60000, `time ${vp.time}`);
  const su = events.find((e) => e.event === '$SignUp');
  assert.equal(su.distinct_id, 'user-1');

  const item = await srv.item(project, 'book', 'b1');
  assert.equal(item.status, 200, item.text);
  assert.deepEqual(stripPresets(item.body.properties), { price: 31.54 });

  const errs = await srv.ingestErrors(project);
  assert.equal(errs.status, 200);
  assert.deepEqual(errs.body.errors, [], `ingest-errors: ${errs.text.slice(0, 2000)}`);
  return { user, events };
}

function assertCors(reqs) {
  for (const r of reqs) {
    assert.equal(r.headers.origin, ORIGIN, `${r.method} ${r.path} sent Origin`);
    assert.equal(r.responseHeaders['access-control-allow-origin'], ORIGIN, `ACAO on ${r.method} ${r.path}`);
    assert.equal(r.responseHeaders['access-control-allow-credentials'], 'true', `ACAC on ${r.method} ${r.path}`);
  }
}

test('image mode: 7 GET /sa.gif with data+ext, GIF answers; full state', async () => {
  const run = await runMode('image');
  const reqs = collectorRequests(run.requests);
  assert.equal(reqs.length, 7, `requests: ${reqs.map((r) => r.method + ' ' + r.path.slice(0, 60))}`);
  for (const r of reqs) {
    assert.equal(r.method, 'GET');
    assert.match(r.path, new RegExp(`^/sa\\.gif\\?project=${run.project}&data=.+&ext=crc%3D-?\\d+`));
    assert.equal(r.status, 200);
    assert.match(r.responseHeaders['content-type'], /^image\/gif/);
  }
  await assertWebState(run);
});

test('ajax mode: 7 form POSTs to /sa.gif, CORS answered; full state', async () => {
  const run = await runMode('ajax');
  const reqs = collectorRequests(run.requests);
  assert.equal(reqs.length, 7);
  for (const r of reqs) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, `/sa.gif?project=${run.project}`);
    assert.match(r.headers['content-type'], /application\/x-www-form-urlencoded/);
    assert.equal(r.status, 200);
  }
  assertCors(reqs);
  await assertWebState(run);
});

test('beacon mode: 7 text/plain POSTs to /sa.gif; full state', async () => {
  const run = await runMode('beacon');
  const reqs = collectorRequests(run.requests);
  assert.equal(reqs.length, 7);
  for (const r of reqs) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, `/sa.gif?project=${run.project}`);
    assert.match(r.headers['content-type'], /^text\/plain/);
    assert.equal(r.status, 200);
  }
  await assertWebState(run);
});

test('batch mode: data_list POSTs totalling 7 records; full state', async () => {
  const run = await runMode('batch');
  const reqs = collectorRequests(run.requests);
  assert.ok(reqs.length >= 1 && reqs.length < 7, `batch requests: ${reqs.length}`);
  for (const r of reqs) {
    assert.equal(r.method, 'POST');
    assert.ok(new URLSearchParams(r.body).get('data_list'), 'data_list body');
    assert.equal(r.status, 200);
  }
  assertCors(reqs);
  await assertWebState(run);
});

test('batch mode with lost answers: the SDK resends, the server stores each record once', async () => {
  let failed = 0;
  // The first two batches reach the server, but the page sees a 503 (as after a timeout).
  const override = (e) => (e.method === 'POST' && failed < 2 ? (failed++, {
    status: 503, headers: { 'Access-Control-Allow-Origin': ORIGIN, 'Access-Control-Allow-Credentials': 'true' },
  }) : null);
  const run = await runMode('batch', { override });
  const seen = countBy(collectorRequests(run.requests).flatMap(decodeRecords), (r) => r._track_id);
  assert.ok(Object.values(seen).some((n) => n > 1), 'the SDK resent at least one record');
  await assertWebState(run);
});

test('debug_mode: OPTIONS preflight then GET /debug answered 200 {}; data stored (Dry-Run: false)', async () => {
  const run = await runMode('ajax', { debug: true });
  const pre = run.requests.filter((r) => r.method === 'OPTIONS');
  const gets = run.requests.filter((r) => r.method === 'GET');
  assert.ok(pre.length >= 1, 'a CORS preflight was sent');
  for (const r of pre) {
    assert.ok(r.path.startsWith('/debug?'), r.path);
    assert.ok(r.status >= 200 && r.status < 300, `preflight status ${r.status}`);
    assert.equal(r.responseHeaders['access-control-allow-origin'], ORIGIN);
    assert.equal(r.responseHeaders['access-control-allow-credentials'], 'true');
    assert.match((r.responseHeaders['access-control-allow-headers'] || '').toLowerCase(), /dry-run/);
    assert.match(r.responseHeaders['access-control-allow-methods'] || '', /GET/);
  }
  assert.equal(gets.length, 7);
  for (const r of gets) {
    assert.ok(r.path.startsWith(`/debug?project=${run.project}&data=`), r.path.slice(0, 80));
    assert.equal(r.headers['dry-run'], 'false');
    assert.equal(r.status, 200, `GET /debug answer ${r.status} ${r.responseBody}`);
    assert.deepEqual(JSON.parse(r.responseBody), {});
  }
  assertCors(gets);
  // The SDK alerts its verdict; "debug数据发送成功" = it accepted the answer.
  assert.equal(run.dialogs.length, 7, `dialogs: ${run.dialogs}`);
  for (const d of run.dialogs) assert.ok(d.startsWith('debug数据发送成功'), `SDK reported: ${d.slice(0, 200)}`);
  await assertWebState(run);
});

test('server-side enrichment of web records: $ip and user agent', async () => {
  const run = runs.ajax;
  assert.ok(run, 'ajax run happened');
  const r = await srv.events(run.project, 'user-1', 100);
  const vp = r.body.events.find((e) => e.event === 'ViewProduct');
  assert.equal(vp.properties.$ip, '127.0.0.1');
  assert.match(String(vp.properties.$browser), /Chrome/);
  assert.ok(vp.properties.$browser_version, '$browser_version');
  assert.equal(vp.properties.$os, 'Linux');
});

test('server still healthy', async () => {
  assert.ok(await srv.healthy());
});
