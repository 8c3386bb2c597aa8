'use strict';
// Import jobs (issue: web console — "import jobs with progress"; docs/import.md "Import jobs"):
// a file POSTed to /api/v1/projects/{p}/imports is imported in the background by the importer
// `sextant import` runs, against the server itself. The job reports its progress while it runs
// and its counts and rejected rows (file:line: code field: reason) afterwards; importing the
// same file again stores nothing twice; a mapping renames columns; profiles import too; a large
// job can be cancelled; a restart marks a job that was running as interrupted; bad parameters
// are 400 naming the parameter; an ended job can be deleted with its files.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, waitFor, uniqueName } = require('../lib/server');

let srv;
let project;
const base = () => `/api/v1/projects/${project}`;
before(async () => {
  srv = await startServer();
  project = uniqueName('imports');
  await srv.createProject(project);
});
after(async () => { if (srv) await srv.stop(); });

const T0 = Date.UTC(2026, 10, 2, 2, 0, 0);  // 2026-11-02 10:00 Shanghai
function eventsCsv(rows, { bad = [], event = 'Deposit' } = {}) {
  const lines = ['distinct_id,event,time,amount'];
  for (let i = 0; i < rows; i++) {
    const time = bad.includes(i) ? 'not-a-time' : new Date(T0 + i * 1000).toISOString();
    lines.push(`cust-${i % 500},${event},${time},${(i % 97) * 100}`);
  }
  return lines.join('\n') + '\n';
}
const upload = (body, params) => srv.api('POST', `${base()}/imports?${new URLSearchParams(params)}`, body, { headers: { 'Content-Type': 'text/csv' } });
const job = async (id) => (await srv.api('GET', `${base()}/imports/${id}`)).body;
const finished = (id, ms = 60000) => waitFor(async () => {
  const j = await job(id);
  return !['queued', 'running'].includes(j.status) && j;
}, ms, 100);
async function count(event, from = '2026-11-01', to = '2026-11-30') {
  const r = await srv.api('POST', `${base()}/query`, { type: 'events', from, to, unit: 'total', measures: [{ event }] });
  assert.equal(r.status, 200, r.text);
  return r.body.rows.length ? r.body.rows[0].at(-1) : 0;
}

test('an uploaded events file is imported with progress, counts and its rejected rows; a second import stores nothing twice', { timeout: 120000 }, async () => {
  const csv = eventsCsv(20000, { bad: [7, 15000] });
  let r = await upload(csv, { name: 'deposits-nov.csv', kind: 'events' });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.status, 'queued');
  assert.equal(r.body.bytes, Buffer.byteLength(csv));
  assert.equal(r.body.created_by, 'admin');
  const id = r.body.id;
  // Progress is visible while it runs (or it is already done on a fast machine).
  const seen = new Set();
  const done = await waitFor(async () => {
    const j = await job(id);
    seen.add(j.status);
    assert.ok(j.percent >= 0 && j.percent <= 100.0001, JSON.stringify(j));
    return j.status === 'done' && j;
  }, 60000, 50);
  assert.ok(seen.has('done'));
  assert.deepEqual([done.rows, done.accepted, done.duplicates, done.failed], [20000, 19998, 0, 2], JSON.stringify(done));
  assert.equal(done.bytes_done, done.bytes);
  assert.equal(Math.round(done.percent), 100);
  assert.equal(await count('Deposit'), 19998);
  // The rejected rows name the file, the line (header = line 1) and the reason.
  r = await srv.api('GET', `${base()}/imports/${id}/errors`);
  assert.equal(r.status, 200, r.text);
  const lines = r.text.trim().split('\n');
  assert.equal(lines.length, 2, r.text);
  assert.match(lines[0], /^deposits-nov\.csv:9: \S+ time: .*not-a-time/);
  assert.match(lines[1], /^deposits-nov\.csv:15002: /);
  // The uploaded file is gone once the job ended (it holds customer data); the errors stay.
  const dir = path.join(srv.dataDir, 'imports');
  const files = fs.readdirSync(dir, { recursive: true }).map(String);
  assert.ok(!files.some((f) => f.endsWith('deposits-nov.csv')), files.join(', '));
  assert.ok(files.some((f) => f.endsWith('errors.txt')), files.join(', '));

  // The same file again: every row recognised, nothing stored twice.
  r = await upload(csv, { name: 'deposits-nov.csv', kind: 'events' });
  const again = await finished(r.body.id);
  assert.deepEqual([again.status, again.accepted, again.duplicates, again.failed], ['done', 0, 19998, 2], JSON.stringify(again));
  assert.equal(await count('Deposit'), 19998);

  // Listed newest first.
  r = await srv.api('GET', `${base()}/imports`);
  assert.deepEqual(r.body.imports.slice(0, 2).map((j) => j.id), [again.id, id]);
});

test('a mapping, profiles, and parameter errors that name the parameter', { timeout: 60000 }, async () => {
  // Columns of a core-system extract, renamed by the mapping.
  const csv = 'cust_no,tx_time,amt\nm-1,2026-11-03 09:30:00,1200\nm-2,2026-11-03 09:31:00,800\n';
  const mapping = JSON.stringify({ id_column: 'cust_no', event: 'Transfer', time_column: 'tx_time', time_format: '%Y-%m-%d %H:%M:%S', columns: { amt: { rename: 'amount', type: 'NUMBER' } } });
  let r = await upload(csv, { name: 'transfers.csv', kind: 'events', mapping });
  assert.equal(r.status, 202, r.text);
  let j = await finished(r.body.id);
  assert.deepEqual([j.status, j.accepted, j.failed], ['done', 2, 0], JSON.stringify(j));
  r = await srv.api('GET', `${base()}/users/m-1/events`);
  assert.equal(r.body.events[0].event, 'Transfer');
  assert.equal(r.body.events[0].properties.amount, 1200);

  r = await upload('distinct_id,city,aum\np-1,Shanghai,520000\n', { name: 'features.csv', kind: 'profiles' });
  j = await finished(r.body.id);
  assert.equal(j.status, 'done', JSON.stringify(j));
  r = await srv.user(project, 'p-1');
  assert.deepEqual([r.body.profile.city, r.body.profile.aum], ['Shanghai', 520000]);

  for (const [params, body, field] of [
    [{ name: 'x.csv', kind: 'orders' }, csv, 'kind'],
    [{ name: 'x.csv', kind: 'events', format: 'xlsx' }, csv, 'format'],
    [{ name: 'x.csv', kind: 'records' }, csv, 'format'],
    [{ name: 'x.csv', kind: 'events', delimiter: ';;' }, csv, 'delimiter'],
    [{ name: 'x.csv', kind: 'events', mapping: '{"columns": 3' }, csv, 'mapping'],
    [{ name: 'x.csv', kind: 'events' }, '', 'body'],
  ]) {
    r = await upload(body, params);
    assert.equal(r.status, 400, `${JSON.stringify(params)}: ${r.text}`);
    assert.ok(r.body.error.field.startsWith(field), `${JSON.stringify(params)}: ${r.text}`);
  }
  assert.equal((await srv.api('GET', `${base()}/imports/999`)).status, 404);
});

test('cancel stops a large import; a restart marks a running job interrupted; ended jobs are deleted with their files', { timeout: 180000 }, async () => {
  const big = eventsCsv(400000, { event: 'BigImport' });
  let r = await upload(big, { name: 'big.csv', kind: 'events' });
  const id = r.body.id;
  await waitFor(async () => (await job(id)).records_done > 0, 30000, 50);
  r = await srv.api('POST', `${base()}/imports/${id}/cancel`);
  assert.equal(r.status, 200, r.text);
  const cancelled = await finished(id);
  assert.equal(cancelled.status, 'cancelled', JSON.stringify(cancelled));
  assert.ok(cancelled.accepted > 0 && cancelled.accepted < 400000, JSON.stringify(cancelled));
  // What it acknowledged is stored: the events query agrees with its count.
  assert.equal(await count('BigImport'), cancelled.accepted);
  r = await srv.api('POST', `${base()}/imports/${id}/cancel`);
  assert.equal(r.status, 409, r.text);

  // A restart while a job runs: the job is marked interrupted, with what to do.
  r = await upload(eventsCsv(400000, { event: 'Interrupted' }), { name: 'big2.csv', kind: 'events' });
  const id2 = r.body.id;
  await waitFor(async () => (await job(id2)).records_done > 0, 30000, 50);
  await srv.restart();
  const interrupted = await job(id2);
  assert.equal(interrupted.status, 'interrupted', JSON.stringify(interrupted));
  assert.match(interrupted.message, /import the file again/);

  // Delete: gone from the list, and its directory with it.
  r = await srv.api('DELETE', `${base()}/imports/${id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await srv.api('GET', `${base()}/imports/${id}`)).status, 404);
  // DATA_DIR/imports/<project id>/<job id>/: none left for the deleted job.
  const left = fs.readdirSync(path.join(srv.dataDir, 'imports'), { recursive: true }).map(String);
  assert.ok(left.some((f) => f.split(path.sep)[1] === id2), left.join(', '));
  assert.ok(!left.some((f) => f.split(path.sep)[1] === id), left.join(', '));
});
