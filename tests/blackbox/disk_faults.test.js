'use strict';
// Black-box: disk faults (docs/reliability.md). The data directory cannot be written (a
// read-only file system, a file where a directory belongs), becomes read-only while the server
// runs, or fills up. Each answers with a clear error that names the reason — a start that fails
// exits non-zero with a message naming the path, never a crash; an ingest that cannot be stored
// is a 5xx naming the reason, never a 200 — and nothing acknowledged is lost or stored twice:
// when the disk is writable again ingest works again, and after a restart every acknowledged
// event is there exactly once with the rest of the state intact.
//
// The faults are real file systems: tmpfs mounts, read-only remounts and bind mounts, so the
// suite needs root (CI runs as root; root ignores permission bits, so chmod would prove
// nothing). Without root it fails, naming the reason.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Server, BIN, sleep, waitFor, request } = require('../lib/server');

const mounts = [];      // mount points to unmount, newest first
const servers = [];
const roots = [];

function mount(args, point) {
  try {
    execFileSync('mount', [...args, point], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`mount ${args.join(' ')} ${point} failed (this suite needs root; CI runs as root): ${String(e.stderr || e.message).trim()}`);
  }
  mounts.unshift(point);
}
// Changes the options of a mount the test made (not recorded: one unmount undoes it).
function remount(options, point) {
  try {
    execFileSync('mount', ['-o', options, point], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`mount -o ${options} ${point} failed: ${String(e.stderr || e.message).trim()}`);
  }
}
function umount(point) {
  execFileSync('umount', [point], { stdio: 'pipe' });
  mounts.splice(mounts.indexOf(point), 1);
}
function tempRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-disk-'));
  roots.push(dir);
  return dir;
}
// A server whose data directory is `dataDir` (on a file system the test mounted).
function serverOn(dataDir, extraArgs = []) {
  const srv = new Server({ extraArgs });
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
  srv.dataDir = dataDir;
  servers.push(srv);
  return srv;
}

before(() => {
  assert.equal(process.getuid(), 0, 'the disk-fault suite must run as root (it mounts tmpfs file systems); CI runs it as root');
});
after(async () => {
  for (const srv of servers) await srv.stop({ keep: true });
  for (const point of [...mounts]) {
    try { umount(point); } catch { try { execFileSync('umount', ['-l', point]); } catch { /* ignore */ } }
  }
  for (const srv of servers) srv.cleanup();
  if (!process.env.SEXTANT_KEEP_DATA) for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
});

// Runs `sextant serve` expecting it to refuse to start.
function serveFails(dataDir) {
  const r = spawnSync(BIN, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--admin-token', 't'], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
}
function assertRefused(r, dataPath, reason) {
  assert.equal(r.signal, null, `exited by a signal (a crash): ${r.signal}\n${r.stderr}`);
  assert.notEqual(r.status, 0, `started on an unusable data dir:\n${r.stdout}`);
  assert.ok(r.stderr.includes(dataPath), `the message names ${dataPath}: ${r.stderr}`);
  assert.match(r.stderr, reason);
  assert.doesNotMatch(r.stdout, /listening/);
}

const now = Date.now();
// Numbered batches of one project: batch b holds rows seq = b*1000 .. b*1000+size-1.
function batchRows(b, size, pad = 0) {
  const out = [];
  for (let i = 0; i < size; i++) {
    const seq = b * 1000 + i;
    const properties = { seq, batch: b };
    if (pad) properties.pad = crypto.randomBytes(pad).toString('base64');
    out.push({ type: 'track', event: 'Fill', distinct_id: `f-${seq % 50}`, time: now - 60_000 + (seq % 50_000), _track_id: seq + 1, properties });
  }
  return out;
}
// Rows per batch as the query API sees them (grouped by `batch`).
async function storedBatches(srv, project) {
  const day = (ms) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);
  const r = await srv.api('POST', `/api/v1/projects/${project}/query`, {
    type: 'events', from: day(now - 2 * 86_400_000), to: day(now + 86_400_000), unit: 'total',
    measures: [{ event: 'Fill', aggregator: 'count' }], by: ['event.batch'], limit: 100_000,
  });
  assert.equal(r.status, 200, r.text);
  return new Map(r.body.rows.map((row) => [row[1], row[2]]));
}
function assertExactlyOnce(stored, acked, sizes) {
  const wrong = [];
  for (const b of acked) if (stored.get(b) !== sizes.get(b)) wrong.push(`batch ${b}: ${stored.get(b) || 0} of ${sizes.get(b)} rows`);
  for (const [b, n] of stored) if (!sizes.has(b)) wrong.push(`unknown batch ${b}: ${n}`);
  for (const [b, n] of stored) if (sizes.has(b) && n !== sizes.get(b)) wrong.push(`batch ${b}: ${n} of ${sizes.get(b)} rows`);
  assert.deepEqual([...new Set(wrong)].slice(0, 10), [], `${wrong.length} batches not stored exactly once`);
}
const NO_SPACE = /no space left|ENOSPC|disk (is )?full/i;
const READ_ONLY = /read-only|EROFS/i;

// ---------------------------------------------------------------------------------------------

test('an unwritable data directory: a clean non-zero exit naming the path, no crash', () => {
  const root = tempRoot();
  const ro = path.join(root, 'ro');
  fs.mkdirSync(ro);
  mount(['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs'], ro);
  // The directory itself is on a read-only file system, and one to be created below it.
  assertRefused(serveFails(ro), ro, READ_ONLY);
  assertRefused(serveFails(path.join(ro, 'data')), path.join(ro, 'data'), READ_ONLY);
  // A file where a directory belongs: the data dir, its event store, its state store.
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, 'x');
  assertRefused(serveFails(file), file, /not a directory/i);
  for (const sub of ['events', 'state']) {
    const dir = path.join(root, `with-${sub}-file`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, sub), 'x');
    assertRefused(serveFails(dir), path.join(dir, sub), /not a directory/i);
  }
});

test('an existing store on a read-only file system: a clean non-zero exit naming the path', async () => {
  const root = tempRoot();
  const fsDir = path.join(root, 'fs');
  fs.mkdirSync(fsDir);
  mount(['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs'], fsDir);
  const dataDir = path.join(fsDir, 'data');
  const srv = serverOn(dataDir);
  await srv.start();
  await srv.createProject('ro');
  assert.equal((await srv.records('ro', batchRows(1, 10))).status, 200);
  assert.deepEqual(await srv.stop({ keep: true }), { code: 0, signal: null });
  remount('remount,ro', fsDir);
  assertRefused(serveFails(dataDir), dataDir, READ_ONLY);
  // Writable again: the store opens with its rows.
  remount('remount,rw', fsDir);
  await srv.start();
  assertExactlyOnce(await waitFor(() => storedBatches(srv, 'ro'), 3000), [1], new Map([[1, 10]]));
  await srv.stop({ keep: true });
});

// ---------------------------------------------------------------------------------------------
// The data directory becomes read-only while the server runs (a read-only bind mount over it:
// files already open stay writable, new ones cannot be created — the WAL's next segment, a part,
// the MANIFEST). The simulated clock moves the event store to its next flush.

const live = { acked: new Set(), sizes: new Map(), failures: [], next: 1 };

test('read-only while running: every ingest answer is a 200 or a 5xx naming the reason', async () => {
  const root = tempRoot();
  const fsDir = path.join(root, 'fs');
  fs.mkdirSync(fsDir);
  mount(['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs'], fsDir);
  const dataDir = path.join(fsDir, 'data');
  fs.mkdirSync(dataDir);
  const srv = serverOn(dataDir, ['--clock', 'simulated', '--clock-start-ms', String(now)]);
  live.srv = srv;
  live.dataDir = dataDir;
  await srv.start();
  await srv.createProject('live');
  const send = async () => {
    const b = live.next++;
    live.sizes.set(b, 100);
    const r = await srv.records('live', batchRows(b, 100), { timeoutMs: 15_000 });
    if (r.status === 200) live.acked.add(b);
    else live.failures.push({ b, status: r.status, text: r.text });
    return r;
  };
  for (let k = 0; k < 5; k++) assert.equal((await send()).status, 200);
  mount(['--bind', dataDir], dataDir);
  remount('remount,bind,ro', dataDir);
  live.readOnly = true;
  for (let k = 0; k < 3; k++) await send();
  // The next flush must create files: a new WAL segment, a part, a MANIFEST.
  const adv = await srv.api('POST', '/api/v1/admin/clock', { advance_seconds: 61 });
  assert.equal(adv.status, 200, adv.text);
  await sleep(500);
  for (let k = 0; k < 10; k++) { await send(); await sleep(50); }
  assert.ok(srv.running, 'the server is still running');
  assert.ok((await request(`${srv.url}/healthz`, { timeoutMs: 5000 })).status > 0, 'health answers');
  const unclear = live.failures.filter((f) => f.status < 500 || !READ_ONLY.test(f.text));
  assert.deepEqual(unclear.map((f) => `batch ${f.b}: ${f.status} ${f.text}`).slice(0, 5), [],
    `${unclear.length} of ${live.failures.length} failed ingests do not say the data directory is read-only`);
});

test('read-only while running: writable again, ingest works again without a restart', async () => {
  assert.ok(live.readOnly, 'the previous test made the directory read-only');
  const srv = live.srv;
  umount(live.dataDir);   // the bind mount goes; the directory is writable again
  live.readOnly = false;
  let last;
  const ok = await waitFor(async () => {
    const b = live.next++;
    live.sizes.set(b, 100);
    last = await srv.records('live', batchRows(b, 100), { timeoutMs: 15_000 });
    if (last.status === 200) live.acked.add(b);
    else live.failures.push({ b, status: last.status, text: last.text });
    return last.status === 200;
  }, 10_000, 500).catch(() => false);
  assert.ok(ok, `ingest still fails 10 s after the directory became writable again: ${last && last.status} ${last && last.text}`);
});

test('read-only while running: a restart keeps every acknowledged event exactly once', async () => {
  const srv = live.srv;
  if (live.readOnly) umount(live.dataDir);
  const stopped = await srv.stop({ keep: true });
  await srv.start();
  // Batches that failed are sent again, as a client does; each must be stored once.
  for (const f of live.failures) {
    const r = await srv.records('live', batchRows(f.b, 100));
    assert.equal(r.status, 200, `resend of batch ${f.b} after the restart: ${r.text}`);
    live.acked.add(f.b);
  }
  assertExactlyOnce(await waitFor(() => storedBatches(srv, 'live'), 3000), live.acked, live.sizes);
  assert.deepEqual(stopped, { code: 0, signal: null }, `the stop after the read-only spell: ${srv.tail(5)}`);
});

// ---------------------------------------------------------------------------------------------
// Disk full: a tmpfs holding the data directory and a filler file; ingest until ENOSPC, then
// delete the filler. The tmpfs leaves more than RocksDB's 64 MiB recovery buffer once the filler
// is gone, so the state store may clear its error by itself.

const full = { acked: new Set(), sizes: new Map(), failures: [], next: 1 };
const FILL_BATCH = 300;
const PAD = 1200;   // bytes of randomness per row: ~1.6 KB of base64, does not compress

test('disk full: every ingest answer is a 200 or a 5xx naming the reason; the server stays up', { timeout: 120_000 }, async () => {
  const root = tempRoot();
  const fsDir = path.join(root, 'fs');
  fs.mkdirSync(fsDir);
  mount(['-t', 'tmpfs', '-o', 'size=192m', 'tmpfs'], fsDir);
  full.filler = path.join(fsDir, 'filler');
  fs.writeFileSync(full.filler, Buffer.alloc(96 << 20, 1));
  const dataDir = path.join(fsDir, 'data');
  fs.mkdirSync(dataDir);
  const srv = serverOn(dataDir);
  full.srv = srv;
  await srv.start();
  await srv.createProject('full');
  // State that must survive: a profile and a segment.
  const prof = await srv.records('full', [{ type: 'profile_set', distinct_id: 'keeper', time: now - 1000, _track_id: 999_999_001, properties: { city: 'Hangzhou', aum: 123 } }]);
  assert.equal(prof.status, 200, prof.text);
  const seg = await srv.api('POST', '/api/v1/projects/full/segments', { name: 'kept', rule: { profile: 'city', op: '=', value: 'Hangzhou' } });
  assert.equal(seg.status, 201, seg.text);
  full.segment = seg.body.id;

  let consecutive = 0;
  for (let k = 0; k < 1000 && consecutive < 5; k++) {
    const b = full.next++;
    full.sizes.set(b, FILL_BATCH);
    let r;
    try {
      r = await srv.records('full', batchRows(b, FILL_BATCH, PAD), { timeoutMs: 30_000 });
    } catch (e) {
      assert.fail(`batch ${b}: no answer (${e.message}); server running: ${srv.running}\n${srv.tail(10)}`);
    }
    if (r.status === 200) {
      assert.equal(r.body.accepted, FILL_BATCH, r.text);
      full.acked.add(b);
      consecutive = 0;
    } else {
      full.failures.push({ b, status: r.status, text: r.text });
      consecutive++;
    }
  }
  assert.ok(full.failures.length > 0, 'the disk filled up');
  const unclear = full.failures.filter((f) => f.status < 500 || !NO_SPACE.test(f.text));
  assert.deepEqual(unclear.map((f) => `batch ${f.b}: ${f.status} ${f.text}`).slice(0, 5), [],
    `${unclear.length} of ${full.failures.length} failed ingests do not say the disk is full`);
  assert.ok(srv.running, `the server is still running\n${srv.tail(10)}`);
  // Reads still answer while the disk is full.
  const user = await srv.user('full', 'keeper');
  assert.equal(user.status, 200, user.text);
  full.filled = true;
});

test('disk full: once space is freed, ingest works again without a restart', async () => {
  assert.ok(full.filled, 'the previous test filled the disk');
  const srv = full.srv;
  fs.unlinkSync(full.filler);
  let last;
  const ok = await waitFor(async () => {
    const b = full.next++;
    full.sizes.set(b, 10);
    last = await srv.records('full', batchRows(b, 10), { timeoutMs: 15_000 });
    if (last.status === 200) full.acked.add(b);
    else full.failures.push({ b, status: last.status, text: last.text, size: 10 });
    return last.status === 200;
  }, 15_000, 500).catch(() => false);
  assert.ok(ok, `ingest still fails 15 s after 96 MiB were freed: ${last && last.status} ${last && last.text}`);
  // And the batches refused while the disk was full go in now.
  for (const f of full.failures.splice(0)) {
    const r = await srv.records('full', batchRows(f.b, full.sizes.get(f.b), f.size ? 0 : PAD));
    assert.equal(r.status, 200, `resend of batch ${f.b}: ${r.text}`);
    full.acked.add(f.b);
  }
});

test('disk full: stop and restart — a clean exit, every acknowledged event exactly once, state intact', { timeout: 120_000 }, async () => {
  assert.ok(full.filled, 'the disk was filled');
  const srv = full.srv;
  if (fs.existsSync(full.filler)) fs.unlinkSync(full.filler);
  const stopped = await srv.stop({ keep: true });
  await srv.start();
  for (const f of full.failures.splice(0)) {
    const r = await srv.records('full', batchRows(f.b, full.sizes.get(f.b), f.size ? 0 : PAD));
    assert.equal(r.status, 200, `resend of batch ${f.b} after the restart: ${r.text}`);
    full.acked.add(f.b);
  }
  assertExactlyOnce(await waitFor(() => storedBatches(srv, 'full'), 5000), full.acked, full.sizes);
  const user = await srv.user('full', 'keeper');
  assert.equal(user.status, 200, user.text);
  assert.deepEqual({ city: user.body.profile.city, aum: user.body.profile.aum }, { city: 'Hangzhou', aum: 123 });
  const seg = await srv.api('POST', `/api/v1/projects/full/segments/${full.segment}/refresh`);
  assert.equal(seg.status, 200, seg.text);
  assert.equal(seg.body.size, 1, seg.text);
  assert.ok(await srv.healthy());
  assert.deepEqual(stopped, { code: 0, signal: null }, `the stop after the disk was full must not crash:\n${srv.tail(6)}`);
  const second = await srv.stop({ keep: true });
  assert.deepEqual(second, { code: 0, signal: null }, `the second stop:\n${srv.tail(6)}`);
  const audit = spawnSync(BIN, ['audit', 'verify', '--data-dir', srv.dataDir], { encoding: 'utf8' });
  assert.equal(audit.status, 0, audit.stderr + audit.stdout);
});

test('disk full at stop: SIGTERM while the disk is full exits without a crash; the store opens with every acknowledged event', { timeout: 120_000 }, async () => {
  assert.ok(full.filled, 'the disk was filled');
  const srv = full.srv;
  if (!srv.running) await srv.start();
  // Fill what is left, then ingest until the disk refuses.
  const fd = fs.openSync(full.filler, 'w');
  const chunk = Buffer.alloc(1 << 20, 2);
  try { for (;;) fs.writeSync(fd, chunk); } catch (e) { assert.equal(e.code, 'ENOSPC', e.message); } finally { fs.closeSync(fd); }
  for (let consecutive = 0, k = 0; k < 200 && consecutive < 3; k++) {
    const b = full.next++;
    full.sizes.set(b, 50);
    const r = await srv.records('full', batchRows(b, 50), { timeoutMs: 30_000 });
    if (r.status === 200) { full.acked.add(b); consecutive = 0; } else { full.failures.push({ b, status: r.status, text: r.text, size: 50 }); consecutive++; }
  }
  const stopped = await srv.stop({ keep: true, allowUnclean: true });
  full.stopLog = srv.tail(8);
  fs.unlinkSync(full.filler);
  await srv.start();
  for (const f of full.failures.splice(0)) {
    const r = await srv.records('full', batchRows(f.b, full.sizes.get(f.b), f.size ? 0 : PAD));
    assert.equal(r.status, 200, `resend of batch ${f.b} after the restart: ${r.text}`);
    full.acked.add(f.b);
  }
  assertExactlyOnce(await waitFor(() => storedBatches(srv, 'full'), 5000), full.acked, full.sizes);
  assert.ok(await srv.healthy());
  assert.equal(stopped.signal, null, `SIGTERM while the disk was full ended the server by a signal (a crash):\n${srv.tail(8)}`);
  // A final flush that failed is reported by the exit code (1) and a line naming the error.
  assert.ok([0, 1].includes(stopped.code), `exit code ${stopped.code}`);
  if (stopped.code === 1) assert.match(full.stopLog, /sextant: stopped with an error: .+/);
  else assert.match(full.stopLog, /sextant: stopped\n/);
});
