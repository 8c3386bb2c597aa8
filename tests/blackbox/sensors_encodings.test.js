'use strict';
// Black-box: curl replays of what the SDKs we cannot run here send (protocol notes §1.2, §1.6,
// §5.3): node/java/go/cpp/python/android/web/mini-program encodings, the GIF answer and CORS.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, sleep, uniqueName } = require('../lib/server');
const { b64, gzipB64, javaHash, trackRecord, curl } = require('../lib/sensors');

let srv;
let project;
before(async () => {
  srv = await startServer();
  project = uniqueName('enc');
  await srv.createProject(project);
});
after(async () => { if (srv) await srv.stop(); });

// Exactly one event stored for `distinctId`, with the record's content.
async function assertOneEvent(distinctId, rec, proj = project) {
  const ev = await waitFor(async () => {
    const r = await srv.events(proj, distinctId, 100);
    assert.equal(r.status, 200, `events of ${distinctId}: ${r.status} ${r.text}`);
    assert.equal(r.body.events.length, 1, `events of ${distinctId}: ${r.text}`);
    return r.body.events[0];
  });
  assert.equal(ev.event, rec.event);
  assert.equal(ev.distinct_id, distinctId);
  assert.equal(ev.time, rec.time);
  for (const [k, v] of Object.entries(rec.properties)) assert.deepEqual(ev.properties[k], v, `property ${k}`);
  return ev;
}

const url = (p) => `${srv.url}${p}`;
const pctEncode = (s) => encodeURIComponent(s);

test('(a) node/java/cpp batch: data_list=b64(gzip(array)) & gzip=1, form', async () => {
  const rec = trackRecord({ distinct_id: 'enc-a', properties: { price: 1.5, name: 'a' } });
  const r = await curl([url(`/sa?project=${project}`), '--data-urlencode', `data_list=${gzipB64(JSON.stringify([rec]))}`, '-d', 'gzip=1']);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-a', rec);
});

test('(b) python/go single: data=b64(gzip(object)) & gzip=1', async () => {
  const rec = trackRecord({ distinct_id: 'enc-b' });
  const r = await curl([url(`/sa?project=${project}`), '--data-urlencode', `data=${gzipB64(JSON.stringify(rec))}`, '-d', 'gzip=1']);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-b', rec);
});

test('(c) web ajax: POST /sa.gif data=b64(object) & ext=crc=<java hash>', async () => {
  const rec = trackRecord({ distinct_id: 'enc-c', properties: { title: '中文标题', ok: true } });
  const data = b64(JSON.stringify(rec));
  const r = await curl([url(`/sa.gif?project=${project}`), '--data-urlencode', `data=${data}`, '--data-urlencode', `ext=crc=${javaHash(data)}`]);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-c', rec);
});

test('(d) web image: GET /sa.gif with data & ext in the query → 43-byte GIF, no-cache', async () => {
  const rec = trackRecord({ distinct_id: 'enc-d' });
  const data = b64(JSON.stringify(rec));
  const r = await curl(['-G', url(`/sa.gif?project=${project}`), '--data-urlencode', `data=${data}`, '--data-urlencode', `ext=crc=${javaHash(data)}`]);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] || '', /^image\/gif/);
  assert.equal(r.bytes.length, 43, 'a 1x1 GIF is 43 bytes');
  assert.equal(r.bytes.subarray(0, 6).toString('latin1'), 'GIF89a');
  const cc = (r.headers['cache-control'] || '').toLowerCase();
  assert.ok(cc.includes('no-cache') && cc.includes('no-store'), `Cache-Control: ${cc}`);
  await assertOneEvent('enc-d', rec);
});

test('(e) web batch / mini-program: data_list=b64(array), no gzip, Content-Type text/plain', async () => {
  const rec = trackRecord({ distinct_id: 'enc-e' });
  const r = await curl([url(`/sa.gif?project=${project}`), '-H', 'Content-Type: text/plain',
    '--data-binary', `data_list=${pctEncode(b64(JSON.stringify([rec])))}`]);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-e', rec);
});

test('(e2) mini-program: POST /sa text/plain data_list of several records', async () => {
  const recs = [trackRecord({ distinct_id: 'enc-mp', event: 'MpA' }), trackRecord({ distinct_id: 'enc-mp', event: 'MpB', time: Date.now() - 1000 })];
  const r = await curl([url(`/sa?project=${project}`), '-H', 'Content-Type: text/plain',
    '--data-binary', `data_list=${pctEncode(b64(JSON.stringify(recs)))}`]);
  assert.equal(r.status, 200, r.text);
  await waitFor(async () => {
    const e = await srv.events(project, 'enc-mp', 100);
    assert.deepEqual(e.body.events.map((x) => x.event), ['MpA', 'MpB']);
    return true;
  });
});

test('(f) android: crc=<hash of b64> & gzip=1 & data_list=b64(gzip(array))', async () => {
  const rec = trackRecord({ distinct_id: 'enc-f', lib: { $lib: 'Android', $lib_version: '6.0.0' } });
  const data = gzipB64(JSON.stringify([rec]));
  const r = await curl([url(`/sa?project=${project}`), '--data-binary',
    `crc=${javaHash(data)}&gzip=1&data_list=${pctEncode(data)}`]);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-f', rec);
});

test('go: no Content-Type header at all', async () => {
  const rec = trackRecord({ distinct_id: 'enc-go' });
  const r = await curl([url(`/sa?project=${project}`), '-H', 'Content-Type:',
    '--data-binary', `data=${pctEncode(gzipB64(JSON.stringify(rec)))}&gzip=1`]);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-go', rec);
});

test('go-style profile_set with "event":"" and "project":"" is accepted', async () => {
  const rec = { type: 'profile_set', event: '', project: '', distinct_id: 'enc-go-prof', time: Date.now(), properties: { city: 'Shanghai' }, lib: { $lib: 'Golang', $lib_version: '2.1.0' } };
  const r = await curl([url(`/sa?project=${project}`), '-H', 'Content-Type:',
    '--data-binary', `data=${pctEncode(gzipB64(JSON.stringify(rec)))}&gzip=1`]);
  assert.equal(r.status, 200, r.text);
  await waitFor(async () => {
    const u = await srv.user(project, 'enc-go-prof');
    assert.equal(u.status, 200, u.text);
    assert.equal(u.body.profile.city, 'Shanghai');
    return true;
  });
});

test('(g) /debug with Dry-Run: true → 200 {} and nothing stored', async () => {
  const rec = trackRecord({ distinct_id: 'enc-g' });
  const r = await curl([url(`/debug?project=${project}`), '-H', 'Dry-Run: true',
    '--data-urlencode', `data_list=${gzipB64(JSON.stringify([rec]))}`, '-d', 'gzip=1']);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, {});
  await sleep(1200);
  const u = await srv.user(project, 'enc-g');
  assert.equal(u.status, 404, `dry-run stored something: ${u.text}`);
});

test('/debug without Dry-Run → 200 {} and stored', async () => {
  const rec = trackRecord({ distinct_id: 'enc-g2' });
  const r = await curl([url(`/debug?project=${project}`), '--data-urlencode', `data=${b64(JSON.stringify(rec))}`]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, {});
  await assertOneEvent('enc-g2', rec);
});

test('record-level "project" overrides the URL project', async () => {
  const other = uniqueName('enc_other');
  await srv.createProject(other);
  const rec = trackRecord({ distinct_id: 'enc-proj', project: other });
  const r = await curl([url('/sa?project=default'), '--data-urlencode', `data=${b64(JSON.stringify(rec))}`]);
  assert.equal(r.status, 200, r.text);
  await assertOneEvent('enc-proj', rec, other);
  const inDefault = await srv.user('default', 'enc-proj');
  assert.equal(inDefault.status, 404, 'not stored in the URL project');
});

test('CORS: POST with Origin → ACAO echoes the origin, credentials true, Vary: Origin', async () => {
  const rec = trackRecord({ distinct_id: 'enc-cors' });
  for (const p of ['/sa', '/sa.gif', '/debug']) {
    const r = await curl([url(`${p}?project=${project}`), '-H', 'Origin: https://shop.example.com',
      '--data-urlencode', `data=${b64(JSON.stringify({ ...rec, _track_id: rec._track_id + p.length }))}`]);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example.com', p);
    assert.equal(r.headers['access-control-allow-credentials'], 'true', p);
    assert.match(r.headers.vary || '', /origin/i, `${p} Vary: ${r.headers.vary}`);
  }
});

test('OPTIONS preflight echoes the requested headers and allows GET/POST', async () => {
  for (const p of ['/sa', '/sa.gif', '/debug']) {
    const r = await curl(['-X', 'OPTIONS', url(`${p}?project=${project}`), '-H', 'Origin: http://app.test',
      '-H', 'Access-Control-Request-Method: GET', '-H', 'Access-Control-Request-Headers: dry-run,content-type']);
    assert.ok(r.status === 200 || r.status === 204, `${p} preflight status ${r.status}`);
    assert.equal(r.headers['access-control-allow-origin'], 'http://app.test');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    const allowH = (r.headers['access-control-allow-headers'] || '').toLowerCase();
    assert.ok(allowH.includes('dry-run') && allowH.includes('content-type'), `${p} allow-headers: ${allowH}`);
    const allowM = r.headers['access-control-allow-methods'] || '';
    assert.ok(/GET/.test(allowM) && /POST/.test(allowM), `${p} allow-methods: ${allowM}`);
  }
});

test('ingest-errors stayed empty and the server is healthy', async () => {
  const errs = await srv.ingestErrors(project);
  assert.equal(errs.status, 200);
  assert.deepEqual(errs.body.errors, [], errs.text.slice(0, 2000));
  assert.ok(await srv.healthy());
});
