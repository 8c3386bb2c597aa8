'use strict';
// Black-box: the bad-input catalogue (issue §8, protocol notes §1.4/§1.5/§5.3). Each case gets its
// documented answer, rejected records land in the ingest-error log with their stable code
// (src/common/error_code.h, docs/record-model.md), and the server stays up (/healthz) after each.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, waitFor, sleep, uniqueName, request } = require('../lib/server');
const { b64, gzipB64, javaHash, trackRecord, curl } = require('../lib/sensors');

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });
afterEach(async () => {
  assert.ok(srv.running, `server process died: ${JSON.stringify(srv.proc && srv.proc.exitInfo)}\n${srv.tail()}`);
  assert.ok(await srv.healthy(), 'server answers /healthz after the bad input');
});

async function freshProject(prefix = 'bad') {
  const p = uniqueName(prefix);
  await srv.createProject(p);
  return p;
}

// Writes raw bytes on a fresh connection; resolves with whatever the server answered.
function rawHttp(text) {
  const net = require('node:net');
  return new Promise((resolve) => {
    let buf = '';
    const s = net.connect(srv.port, '127.0.0.1', () => s.write(text));
    s.on('data', (d) => { buf += d; });
    s.on('close', () => resolve(buf));
    s.on('error', () => resolve(buf));
    setTimeout(() => { s.destroy(); resolve(buf); }, 5000);
  });
}

const postSa = (p, args, pathName = '/sa') => curl([`${srv.url}${pathName}?project=${p}`, ...args]);

// The documented API error shape.
function assertErrorJson(r, code) {
  assert.ok(r.body && r.body.error, `JSON error body expected, got: ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.body.error.message, 'string');
  assert.equal(typeof r.body.error.name, 'string');
  if (code !== undefined) assert.equal(r.body.error.code, code, r.text);
}

async function errorsOf(p, min = 1) {
  return waitFor(async () => {
    const r = await srv.ingestErrors(p);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.errors.length >= min, `ingest-errors of ${p}: ${r.text}`);
    return r.body.errors;
  });
}

async function assertNotStored(p, distinctId) {
  await sleep(1100);
  const r = await srv.user(p, distinctId);
  assert.equal(r.status, 404, `${distinctId} should not be stored: ${r.text}`);
}

test('bad base64 → 400 JSON error (bad_base64)', async () => {
  const p = await freshProject();
  const r = await postSa(p, ['--data-binary', 'data=%%%%@@@@****']);
  assert.equal(r.status, 400);
  assertErrorJson(r, 1001);
});

test('bad gzip (gzip=1, 1f 8b magic then garbage) → 400 (bad_gzip)', async () => {
  const p = await freshProject();
  const junk = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from('this is not deflate data at all')]);
  const r = await postSa(p, ['--data-urlencode', `data_list=${junk.toString('base64')}`, '-d', 'gzip=1']);
  assert.equal(r.status, 400);
  assertErrorJson(r, 1002);
});

test('wrong crc → 200, an ingest-error with code 1004, nothing stored', async () => {
  const p = await freshProject();
  const rec = trackRecord({ distinct_id: 'crc-user' });
  const data = b64(JSON.stringify(rec));
  const r = await postSa(p, ['--data-urlencode', `data=${data}`, '--data-urlencode', `ext=crc=${javaHash(data) + 1}`], '/sa.gif');
  assert.equal(r.status, 200, r.text);
  const errs = await errorsOf(p);
  assert.equal(errs[0].code, 1004, JSON.stringify(errs[0]));
  assert.equal(errs[0].name, 'crc_mismatch');
  await assertNotStored(p, 'crc-user');
});

test('android crc= mismatch → 200 and code 1004', async () => {
  const p = await freshProject();
  const data = gzipB64(JSON.stringify([trackRecord({ distinct_id: 'crc-android' })]));
  const r = await postSa(p, ['--data-binary', `crc=12345&gzip=1&data_list=${encodeURIComponent(data)}`]);
  assert.equal(r.status, 200, r.text);
  const errs = await errorsOf(p);
  assert.equal(errs[0].code, 1004);
  await assertNotStored(p, 'crc-android');
});

test('gzip=9 (encrypted payload) → 400 (encrypted_payload)', async () => {
  const p = await freshProject();
  const r = await postSa(p, ['--data-urlencode', `data_list=${gzipB64('[{}]')}`, '-d', 'gzip=9']);
  assert.equal(r.status, 400);
  assertErrorJson(r, 1005);
});

test('two records to /debug → 400', async () => {
  const p = await freshProject();
  const recs = [trackRecord({ distinct_id: 'dbg2' }), trackRecord({ distinct_id: 'dbg2' })];
  const r = await postSa(p, ['--data-urlencode', `data_list=${gzipB64(JSON.stringify(recs))}`, '-d', 'gzip=1'], '/debug');
  assert.equal(r.status, 400);
  assertErrorJson(r);
  await assertNotStored(p, 'dbg2');
});

test('/debug with an invalid record → 400 JSON naming the field', async () => {
  const p = await freshProject();
  const rec = trackRecord({ distinct_id: 'dbg-bad', properties: { '1abc': 1 } });
  const r = await postSa(p, ['--data-urlencode', `data=${b64(JSON.stringify(rec))}`], '/debug');
  assert.equal(r.status, 400);
  assertErrorJson(r, 2003);
  assert.ok(JSON.stringify(r.body).includes('1abc'), `error names the property: ${r.text}`);
});

test('type conflict: price NUMBER then "x" → 200, ingest-error 2007, the first record kept', async () => {
  const p = await freshProject();
  const first = trackRecord({ distinct_id: 'tc-user', properties: { price: 9.5 } });
  const second = trackRecord({ distinct_id: 'tc-user', time: first.time + 1, properties: { price: 'x' } });
  let r = await postSa(p, ['--data-urlencode', `data=${b64(JSON.stringify(first))}`]);
  assert.equal(r.status, 200);
  await waitFor(async () => (await srv.events(p, 'tc-user')).status === 200);
  r = await postSa(p, ['--data-urlencode', `data=${b64(JSON.stringify(second))}`]);
  assert.equal(r.status, 200, r.text);
  const errs = await errorsOf(p);
  assert.equal(errs[0].code, 2007, JSON.stringify(errs[0]));
  assert.equal(errs[0].field, 'properties.price');
  assert.ok(String(errs[0].record).includes('"x"'), 'the error keeps an excerpt of the record');
  await sleep(1100);
  const ev = await srv.events(p, 'tc-user');
  assert.equal(ev.body.events.length, 1);
  assert.equal(ev.body.events[0].properties.price, 9.5);
  const schema = await srv.schema(p);
  assert.equal(schema.body.properties.find((x) => x.name === 'price').type, 'NUMBER');
});

test('reserved property name user_id → 2004; invalid name 1abc → 2003 (200 to the client)', async () => {
  const p = await freshProject();
  const a = trackRecord({ distinct_id: 'names-1', properties: { user_id: 'x' } });
  const b = trackRecord({ distinct_id: 'names-2', properties: { '1abc': 'x' } });
  const r = await postSa(p, ['--data-urlencode', `data_list=${b64(JSON.stringify([a, b]))}`]);
  assert.equal(r.status, 200, r.text);
  const errs = await errorsOf(p, 2);
  const byField = Object.fromEntries(errs.map((e) => [e.field, e.code]));
  assert.equal(byField['properties.user_id'], 2004, JSON.stringify(errs));
  assert.equal(byField['properties.1abc'], 2003, JSON.stringify(errs));
  await assertNotStored(p, 'names-1');
  await assertNotStored(p, 'names-2');
});

test('time outside the accepted window → 2008; the same with time_free is stored', async () => {
  const p = await freshProject();
  const old = Date.now() - 3 * 366 * 86400000;
  const a = trackRecord({ distinct_id: 'tw-1', time: old });
  const b = trackRecord({ distinct_id: 'tw-2', time: old, time_free: true });
  const r = await srv.records(p, [a, b]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, 1, r.text);
  assert.equal(r.body.rejected.length, 1);
  assert.equal(r.body.rejected[0].index, 0);
  assert.equal(r.body.rejected[0].code, 2008);
  assert.equal(r.body.rejected[0].field, 'time');
  const ev = await waitFor(async () => (await srv.events(p, 'tw-2')).body);
  assert.equal(ev.events[0].time, old);
});

test('oversize body (80 MB, over the 64 MiB default limit) → 413', async () => {
  const p = await freshProject();
  const file = path.join(os.tmpdir(), `sextant-big-${process.pid}.txt`);
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 'A');
  fs.writeSync(fd, 'data=');
  for (let i = 0; i < 80; i++) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  try {
    const r = await curl([`${srv.url}/sa?project=${p}`, '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', `@${file}`]);
    assert.equal(r.status, 413, `got ${r.status} ${r.text.slice(0, 200)}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('oversize request line (200 KB URL) → 414 or 431', async () => {
  const p = await freshProject();
  // Too long for curl's argv and config file: write the request by hand.
  const answer = await rawHttp(`GET /sa.gif?project=${p}&data=${'A'.repeat(200 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  assert.match(answer, /^HTTP\/1\.1 (414|431) /, `got: ${answer.slice(0, 200)}`);
});

test('a 20 KB web GET (long title) is within the line limit and stored', async () => {
  const p = await freshProject();
  const rec = trackRecord({ distinct_id: 'long-get', properties: { $title: 'T'.repeat(1024), note: 'n'.repeat(8000) } });
  const data = b64(JSON.stringify(rec));
  assert.ok(data.length > 12000);
  const r = await curl(['-G', `${srv.url}/sa.gif?project=${p}`, '--data-urlencode', `data=${data}`]);
  assert.equal(r.status, 200);
  await waitFor(async () => (await srv.events(p, 'long-get')).status === 200);
});

test('garbage bytes as the body → 400 JSON error', async () => {
  const p = await freshProject();
  const file = path.join(os.tmpdir(), `sextant-garbage-${process.pid}.bin`);
  const buf = Buffer.alloc(4096);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + 13) & 0xff;
  fs.writeFileSync(file, buf);
  try {
    const r = await curl([`${srv.url}/sa?project=${p}`, '--data-binary', `@${file}`]);
    assert.equal(r.status, 400);
    assertErrorJson(r);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('invalid JSON inside valid base64 → 400 (bad_json)', async () => {
  const p = await freshProject();
  const r = await postSa(p, ['--data-urlencode', `data=${b64('{"type":"track", nope')}`]);
  assert.equal(r.status, 400);
  assertErrorJson(r, 1003);
});

test('no payload parameter → 400 (missing_payload)', async () => {
  const p = await freshProject();
  const r = await postSa(p, ['-d', 'foo=bar']);
  assert.equal(r.status, 400);
  assertErrorJson(r, 1006);
});

test('unknown project on /sa → 200 (decodable payload), counted as rejected unknown_project; /debug → 404', async () => {
  const metric = async () => {
    const m = await request(`${srv.url}/metrics`);
    const line = m.text.split('\n').find((l) => l.startsWith('sextant_records_rejected_total{reason="unknown_project"}'));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const before0 = await metric();
  const rec = trackRecord({ distinct_id: 'nobody' });
  const r = await curl([`${srv.url}/sa?project=no_such_project_xyz`, '--data-urlencode', `data=${b64(JSON.stringify(rec))}`]);
  assert.equal(r.status, 200, r.text);
  assert.equal(await metric(), before0 + 1, 'the rejection is counted (never dropped silently)');
  const api = await srv.ingestErrors('no_such_project_xyz');
  assert.equal(api.status, 404);
  const d = await curl([`${srv.url}/debug?project=no_such_project_xyz`, '--data-urlencode', `data=${b64(JSON.stringify(rec))}`]);
  assert.equal(d.status, 404);
  assertErrorJson(d, 2010);
});

test('native batch: one bad record among good ones → accepted N-1, rejected lists index, field, code', async () => {
  const p = await freshProject();
  const recs = [
    trackRecord({ distinct_id: 'nb-1' }),
    trackRecord({ distinct_id: 'nb-1', time: Date.now() - 10 }),
    trackRecord({ distinct_id: 'nb-1', properties: { '1abc': 2 } }),
    trackRecord({ distinct_id: 'nb-1', time: Date.now() - 20 }),
  ];
  const r = await srv.records(p, recs);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, 3);
  assert.equal(r.body.duplicates, 0);
  assert.equal(r.body.rejected.length, 1);
  const rej = r.body.rejected[0];
  assert.equal(rej.index, 2);
  assert.equal(rej.code, 2003);
  assert.equal(rej.name, 'invalid_name');
  assert.equal(rej.field, 'properties.1abc');
  assert.equal(typeof rej.reason, 'string');
  const ev = await waitFor(async () => {
    const e = await srv.events(p, 'nb-1');
    assert.equal(e.body.events.length, 3);
    return e.body;
  });
  assert.equal(ev.events.length, 3);
  const errs = await errorsOf(p);
  assert.equal(errs[0].code, 2003);
});

test('native batch: NDJSON body and non-object elements', async () => {
  const p = await freshProject();
  const nd = [JSON.stringify(trackRecord({ distinct_id: 'nd-1' })), '', '42', '{broken'].join('\n');
  const r = await srv.records(p, nd, { headers: { 'Content-Type': 'application/x-ndjson' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, 1);
  assert.deepEqual(r.body.rejected.map((x) => x.index).sort(), [1, 2]);
});

test('native batch: unparsable JSON array → 400 bad_json', async () => {
  const p = await freshProject();
  const r = await srv.records(p, '[{"type":"track",');
  assert.equal(r.status, 400);
  assertErrorJson(r, 1003);
});

test('API without token → 401 JSON error; wrong token → 401', async () => {
  let r = await srv.api('GET', '/api/v1/projects', undefined, { token: null });
  assert.equal(r.status, 401);
  assertErrorJson(r, 3002);
  r = await srv.api('GET', '/api/v1/projects', undefined, { token: 'wrong' });
  assert.equal(r.status, 401);
  assertErrorJson(r, 3002);
  r = await srv.records('default', [trackRecord()], { token: null });
  assert.equal(r.status, 401);
});

test('token-protected project: wrong/missing token on /sa → 200 + ingest-error 2011; /debug → 403; right token stored', async () => {
  const p = uniqueName('tok');
  await srv.createProject(p, 'sekret');
  const rec = trackRecord({ distinct_id: 'tok-user' });
  const data = b64(JSON.stringify(rec));
  let r = await curl([`${srv.url}/sa?project=${p}&token=wrong`, '--data-urlencode', `data=${data}`]);
  assert.equal(r.status, 200);
  r = await curl([`${srv.url}/sa?project=${p}`, '--data-urlencode', `data=${data}`]);
  assert.equal(r.status, 200);
  const errs = await errorsOf(p, 2);
  assert.deepEqual(errs.map((e) => e.code), [2011, 2011]);
  assert.equal(errs[0].field, 'token');
  r = await curl([`${srv.url}/debug?project=${p}&token=wrong`, '--data-urlencode', `data=${data}`]);
  assert.equal(r.status, 403);
  assertErrorJson(r, 2011);
  await assertNotStored(p, 'tok-user');
  // Record-level token counts too.
  const rec2 = trackRecord({ distinct_id: 'tok-user2', token: 'sekret' });
  r = await curl([`${srv.url}/sa?project=${p}`, '--data-urlencode', `data=${b64(JSON.stringify(rec2))}`]);
  assert.equal(r.status, 200);
  r = await curl([`${srv.url}/sa?project=${p}&token=sekret`, '--data-urlencode', `data=${data}`]);
  assert.equal(r.status, 200);
  await waitFor(async () => (await srv.events(p, 'tok-user')).status === 200);
  await waitFor(async () => (await srv.events(p, 'tok-user2')).status === 200);
});

test('malformed HTTP → 400 and the server stays up', async () => {
  const answer = await rawHttp('GARBAGE \x00\x01\x02 NOT-HTTP\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 400/);
});
