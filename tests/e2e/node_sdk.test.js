'use strict';
// End-to-end: the real sa-sdk-node 1.2.6 against `sextant serve` (protocol notes §5.1).
// Each scenario runs the SDK in its own child process, through a recording proxy, into its own
// project, and then checks the server's state through the read API.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer, waitFor, sleep, uniqueName } = require('../lib/server');
const { startRecordingProxy } = require('../lib/proxy');

const DRIVER = path.join(__dirname, '..', 'lib', 'node_sdk_driver.js');
let srv;

before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

function runDriver(env) {
  return new Promise((resolve) => {
    execFile(process.execPath, [DRIVER], { env: { ...process.env, ...env }, timeout: 20000 }, (err, stdout, stderr) => {
      let out = {};
      const line = String(stdout).trim().split('\n').pop();
      try { out = JSON.parse(line); } catch { /* reported below */ }
      resolve({ code: err ? (err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr), out });
    });
  });
}

// Runs one scenario in a fresh project; returns {project, requests, out, t0, t1}.
async function scenario(env, { debugPath = false } = {}) {
  const project = uniqueName('node');
  await srv.createProject(project);
  const proxy = await startRecordingProxy(srv.url);
  const t0 = Date.now();
  const run = await runDriver({ SA_URL: `${proxy.url}/sa?project=${project}`, ...env });
  const t1 = Date.now();
  await proxy.close();
  assert.equal(run.code, 0, `SDK driver failed (non-2xx answers?): ${run.stderr}`);
  assert.ok(run.out.viewProductTime, `driver output: ${run.stdout}`);
  const expectedPath = debugPath ? `/debug?project=${project}` : `/sa?project=${project}`;
  for (const r of proxy.requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, expectedPath);
    assert.equal(r.status, 200, `answer to ${r.path}: ${r.status} ${r.responseBody}`);
  }
  return { project, requests: proxy.requests, out: run.out, t0, t1 };
}

// Decodes the records of one captured SDK request (to check the wire, not the server).
function decodeRecords(req) {
  const form = new URLSearchParams(req.body);
  let raw = Buffer.from(form.get('data_list'), 'base64');
  if (form.get('gzip') === '1') raw = zlib.gunzipSync(raw);
  return JSON.parse(raw.toString('utf8'));
}

const stripPresets = (obj) => Object.fromEntries(Object.entries(obj || {}).filter(([k]) => !k.startsWith('$')));

async function assertStored(project, { viewProductTime }) {
  // One person with anon-1 (anonymous) and user-1 (login).
  const user = await waitFor(async () => {
    const r = await srv.user(project, 'user-1');
    assert.equal(r.status, 200, `GET user user-1: ${r.status} ${r.text}`);
    const p = stripPresets(r.body.profile);
    assert.deepEqual(p, { name: 'Alice', age: 30, points: 5, interests: ['books'] });
    return r.body;
  }, 4000);
  assert.equal(typeof user.user_id, 'number');
  const ids = user.identities.map((i) => `${i.key}=${i.value}`).sort();
  assert.ok(ids.includes('$identity_login_id=user-1'), `identities: ${ids}`);
  assert.ok(ids.includes('$identity_anonymous_id=anon-1'), `identities: ${ids}`);
  const anon = await srv.user(project, 'anon-1');
  assert.equal(anon.status, 200);
  assert.equal(anon.body.user_id, user.user_id, 'anon-1 and user-1 are one user');
  const byKey = await srv.user(project, 'anon-1', '$identity_anonymous_id');
  assert.equal(byKey.status, 200);
  assert.equal(byKey.body.user_id, user.user_id);
  const byLogin = await srv.user(project, 'user-1', '$identity_login_id');
  assert.equal(byLogin.status, 200);
  assert.equal(byLogin.body.user_id, user.user_id);

  // Events of the whole person: ViewProduct (by anon-1, 60 s ago) and $SignUp.
  const events = (await waitFor(async () => {
    const r = await srv.events(project, 'user-1', 100);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.events.length, 2, `events: ${r.text}`);
    return r.body;
  })).events;
  assert.deepEqual(events.map((e) => e.event).sort(), ['$SignUp', 'ViewProduct']);
  // Newest first: $SignUp (now) before ViewProduct (now - 60 s).
  assert.equal(events[0].event, '$SignUp');
  const vp = events.find((e) => e.event === 'ViewProduct');
  assert.equal(vp.distinct_id, 'anon-1');
  assert.equal(vp.time, viewProductTime, 'ViewProduct keeps the $time given to the SDK (ms)');
  assert.ok(Math.abs(vp.time - (Date.now() - 60000)) < 30000, 'time is about now - 60 s');
  assert.equal(vp.properties.product_id, 'p1');
  assert.equal(vp.properties.price, 9.5);
  assert.deepEqual(vp.properties.tags, ['a', 'b']);
  assert.equal(vp.properties.$lib, 'Node');
  assert.equal(vp.properties.$time, undefined, '$time is not a property');
  const su = events.find((e) => e.event === '$SignUp');
  assert.equal(su.distinct_id, 'user-1');
  assert.ok(Math.abs(su.time - Date.now()) < 30000);

  // Property types in the schema registry.
  const schema = await srv.schema(project);
  assert.equal(schema.status, 200, schema.text);
  const ptype = Object.fromEntries(schema.body.properties.map((p) => [p.name, p.type]));
  assert.equal(ptype.product_id, 'STRING');
  assert.equal(ptype.price, 'NUMBER');
  assert.equal(ptype.tags, 'LIST');
  const evNames = schema.body.events.map((e) => e.name);
  assert.ok(evNames.includes('ViewProduct') && evNames.includes('$SignUp'), `schema events: ${evNames}`);

  // Items: b1 set, b2 set then deleted.
  const item = await srv.item(project, 'book', 'b1');
  assert.equal(item.status, 200, item.text);
  assert.equal(item.body.item_type, 'book');
  assert.equal(item.body.item_id, 'b1');
  assert.deepEqual(stripPresets(item.body.properties), { price: 31.54 });
  const gone = await srv.item(project, 'book', 'b2');
  assert.equal(gone.status, 404, `item_delete: ${gone.text}`);

  const errs = await srv.ingestErrors(project);
  assert.equal(errs.status, 200);
  assert.deepEqual(errs.body.errors, [], 'ingest-errors empty');
}

test('batch mode, gzip=1: one POST of 8 records, then unset/delete; state complete', async () => {
  const s = await scenario({});
  assert.equal(s.requests.length, 2, 'phase 1 batch + phase 2 batch');
  const form = new URLSearchParams(s.requests[0].body);
  assert.equal(form.get('gzip'), '1');
  assert.equal(decodeRecords(s.requests[0]).length, 8);
  await assertStored(s.project, s.out);
});

test('SINGLE=1: one POST per record; same state', async () => {
  const s = await scenario({ SINGLE: '1' });
  assert.equal(s.requests.length, 10);
  await assertStored(s.project, s.out);
});

test('GZIP=0: plain base64 data_list; same state', async () => {
  const s = await scenario({ GZIP: '0' });
  assert.equal(new URLSearchParams(s.requests[0].body).get('gzip'), '0');
  await assertStored(s.project, s.out);
});

test('MODE=dryRun: every /debug POST answered 200 {} and nothing stored', async () => {
  const s = await scenario({ MODE: 'dryRun', SINGLE: '1' }, { debugPath: true });
  assert.equal(s.requests.length, 10);
  for (const r of s.requests) {
    assert.equal(r.headers['dry-run'], 'true');
    assert.deepEqual(JSON.parse(r.responseBody), {}, `body of ${r.path}: ${r.responseBody}`);
  }
  await sleep(1500); // reads are visible within 1 s of an ack: give a wrongly stored record time to show
  for (const id of ['user-1', 'anon-1']) {
    const r = await srv.user(s.project, id);
    assert.equal(r.status, 404, `dry-run stored user ${id}: ${r.text}`);
  }
  const item = await srv.item(s.project, 'book', 'b1');
  assert.equal(item.status, 404, `dry-run stored item: ${item.text}`);
  const schema = await srv.schema(s.project);
  assert.equal(schema.status, 200);
  assert.deepEqual(schema.body.events, [], 'dry-run registered events in the schema');
  const errs = await srv.ingestErrors(s.project);
  assert.deepEqual(errs.body.errors, []);
});

test('MODE=debug: /debug without Dry-Run validates and stores', async () => {
  const s = await scenario({ MODE: 'debug', SINGLE: '1' }, { debugPath: true });
  assert.equal(s.requests.length, 10);
  for (const r of s.requests) {
    assert.equal(r.headers['dry-run'], undefined);
    assert.deepEqual(JSON.parse(r.responseBody), {});
  }
  await assertStored(s.project, s.out);
});

test('server still healthy', async () => {
  assert.ok(await srv.healthy());
});
