'use strict';
// The console's static files: served at "/" from --console-dir, client-side routes fall back to
// index.html, hashed assets are cached for a year and index.html is revalidated, nothing
// outside the directory is reachable, and API paths are never shadowed by the console.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../lib/server');

let srv;
let dir;
const INDEX = '<!doctype html><title>console</title><div id=root></div>';

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-console-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), INDEX);
  fs.writeFileSync(path.join(dir, 'assets', 'app-3f2a.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg/>');
  fs.writeFileSync(path.join(path.dirname(dir), 'secret.txt'), 'outside');
  srv = await startServer({ extraArgs: ['--console-dir', dir] });
});
test.after(async () => {
  if (srv) await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (p, method = 'GET') => fetch(srv.url + p, { method });

test('index.html at / and at every client-side route, revalidated on each load', async () => {
  for (const p of ['/', '/journeys/j1/canvas', '/analysis?tab=funnel']) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.equal(await r.text(), INDEX);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
  }
});

test('hashed assets are immutable for a year; other files revalidate; HEAD has no body', async () => {
  let r = await get('/assets/app-3f2a.js');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'console.log(1)');
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  r = await get('/favicon.svg');
  assert.equal(r.headers.get('content-type'), 'image/svg+xml');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  r = await get('/assets/app-3f2a.js', 'HEAD');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), String('console.log(1)'.length));
  assert.equal((await r.arrayBuffer()).byteLength, 0);
});

test('a missing asset is 404 (not the page), and nothing outside the directory is served', async () => {
  assert.equal((await get('/assets/old-1234.js')).status, 404);
  for (const p of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
    const r = await get(p);
    const text = await r.text();
    assert.ok(!text.includes('outside'), `${p} leaked`);
  }
  assert.equal((await get('/', 'POST')).status, 404);
});

test('API, ingest and health paths are not the console', async () => {
  assert.equal((await get('/api/v1/projects')).status, 401);
  assert.equal((await get('/healthz')).status, 200);
  assert.match(await (await get('/metrics')).text(), /sextant_/);
});
