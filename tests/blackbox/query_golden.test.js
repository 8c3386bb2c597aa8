'use strict';
// Golden-file tests of the analysis query API (docs/query.md is the contract).
//
// Every tests/golden/<name>.json is
//   {"description": "...", "defaults": {...optional query fields...},
//    "time_zone": "UTC" (optional project time zone, default Asia/Shanghai),
//    "records": [...Sensors records, loaded in order as one NDJSON batch...],
//    "cases": [{"name": "...", "query": {...} | "body": "<raw text>" | "get": "users/alice",
//               "status": 400, "unordered": ["rows", "groups"], "expect": {...},
//               "content_type": "text/csv", "expect_text": "a,b\n1,2"}]}
// Each file gets a fresh project on one shared server. A record `time` may be a string
// "YYYY-MM-DD HH:MM:SS[.mmm]" (wall time at UTC+8, i.e. Asia/Shanghai, whatever the project's
// zone) or with an explicit "Z" / "±HH:MM" suffix; it is turned into epoch ms here. Records get
// `time_free: true` so the ingest time window (2 years back) never refuses the fixed 2026 dates.
// A case's query is `{...defaults, ...query}`. A case with `get` instead sends
// `GET /api/v1/projects/<project>/<get>` (e.g. the users API, to check which user id a
// distinct_id has). `expect_text` compares the raw answer text (for the CSV export of "Users
// behind a number"), line by line: "\r\n" and "\n" end lines alike and one final line end is
// optional; `content_type` is the expected start of the Content-Type header. `expect` may then
// be left out.
//
// The answer is compared with `expect` recursively: `meta` and keys absent from `expect` are
// ignored; arrays must have the same length (element by element, or as a multiset for the keys
// listed in `unordered` — for orders docs/query.md does not fix); integers compare exactly,
// other numbers to 1e-9 relative; the string "<any>" matches anything. `status` (default 200)
// is the expected HTTP status. Every expected value was computed by hand from docs/query.md;
// the reasoning is in the case names and file descriptions.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, sleep, uniqueName } = require('../lib/server');

const GOLDEN_DIR = path.resolve(__dirname, '..', 'golden');
const ANY = '<any>';
const WIDE = { from: '2025-01-01', to: '2027-12-31' };  // covers every golden record

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });
// If this process ends without after() (uncaught error, runner cancelling the file), do not
// leave the server behind.
process.on('exit', () => { if (srv && srv.running) srv.proc.kill('SIGKILL'); });

const TIME_RE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{3})?)(Z|[+-]\d{2}:\d{2})?$/;
function epochMs(t) {
  if (typeof t !== 'string') return t;
  const m = TIME_RE.exec(t);
  if (!m) throw new Error(`bad golden time "${t}" (want "YYYY-MM-DD HH:MM:SS[.mmm][Z|±HH:MM]")`);
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3] || '+08:00'}`);
  if (!Number.isFinite(ms)) throw new Error(`bad golden time "${t}"`);
  return ms;
}

const isEventRecord = (r) => ['track', 'track_signup', 'track_id_bind', 'track_id_unbind'].includes(r.type);

// Returns a list of "path: why" differences (empty = match).
function compare(expected, actual, where, unordered, out) {
  if (expected === ANY) return out;
  if (expected === null || typeof expected !== 'object') {
    if (typeof expected === 'number' && typeof actual === 'number') {
      if (Number.isInteger(expected)) {
        if (actual !== expected) out.push(`${where}: expected ${expected}, got ${actual}`);
      } else if (!(Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(expected), Math.abs(actual)))) {
        out.push(`${where}: expected ${expected}, got ${actual} (1e-9 relative)`);
      }
    } else if (actual !== expected) {
      out.push(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) { out.push(`${where}: expected an array, got ${JSON.stringify(actual)}`); return out; }
    if (actual.length !== expected.length) {
      out.push(`${where}: expected ${expected.length} elements, got ${actual.length}`);
      return out;
    }
    const key = (/\.(\w+)$/.exec(where) || [])[1];  // set only for an array that is a key's value
    if (unordered.includes(key)) {
      // Multiset match by backtracking (arrays here are tiny).
      const used = new Array(actual.length).fill(false);
      const ok = (i) => {
        if (i === expected.length) return true;
        for (let j = 0; j < actual.length; ++j) {
          if (used[j] || compare(expected[i], actual[j], `${where}[*]`, unordered, []).length) continue;
          used[j] = true;
          if (ok(i + 1)) return true;
          used[j] = false;
        }
        return false;
      };
      if (!ok(0)) {
        const missing = expected.filter((e) => !actual.some((a) => !compare(e, a, `${where}[*]`, unordered, []).length));
        out.push(`${where}: (any order) no one-to-one match; expected elements with no match: ${JSON.stringify(missing)}`);
      }
      return out;
    }
    expected.forEach((e, i) => compare(e, actual[i], `${where}[${i}]`, unordered, out));
    return out;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    out.push(`${where}: expected an object, got ${JSON.stringify(actual)}`);
    return out;
  }
  for (const [k, v] of Object.entries(expected)) {
    if (k === 'meta') continue;
    if (!(k in actual)) { out.push(`${where}.${k}: missing`); continue; }
    compare(v, actual[k], `${where}.${k}`, unordered, out);
  }
  return out;
}

async function load(project, records) {
  const prepared = records.map((r) => {
    const x = { time_free: true, ...r };
    if (x.time !== undefined) x.time = epochMs(x.time);
    return x;
  });
  const body = prepared.map((r) => JSON.stringify(r)).join('\n');
  const r = await srv.records(project, body, { headers: { 'Content-Type': 'application/x-ndjson' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.rejected, [], `records refused: ${r.text}`);
  assert.equal(r.body.accepted, records.length, r.text);
  const events = records.filter(isEventRecord).length;
  // Reads are visible within 1 s of an ack: poll until the query API sees every event (a
  // non-200 answer fails at once).
  const deadline = Date.now() + 10000;
  for (;;) {
    const q = await srv.api('POST', `/api/v1/projects/${project}/query`,
      { type: 'events', ...WIDE, unit: 'total', measures: [{ event: '$any', aggregator: 'count' }] });
    assert.equal(q.status, 200, `visibility query: ${q.text}`);
    const seen = q.body.rows[0][1];
    if (seen === events) return;
    assert.ok(Date.now() < deadline, `the query API sees ${seen} of the ${events} loaded events after 10 s`);
    await sleep(50);
  }
}

const files = fs.readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json')).sort();

test('golden files exist', () => {
  assert.ok(files.length > 0, `no golden files in ${GOLDEN_DIR}`);
});

// The comparator must not be vacuous: it sees each kind of difference.
test('comparator catches differences', () => {
  const diff = (e, a, u = []) => compare(e, a, '$', u, []);
  assert.deepEqual(diff({ x: 1, meta: { a: 1 } }, { x: 1, y: 2, meta: { a: 2 } }), []);
  assert.ok(diff({ x: 1 }, { x: 2 }).length > 0);
  assert.ok(diff({ x: 1 }, { x: 1.0000001 }).length > 0, 'integers compare exactly');
  assert.equal(diff({ x: 0.1 }, { x: 0.1 + 1e-12 }).length, 0, 'floats to 1e-9 relative');
  assert.ok(diff({ x: 0.1 }, { x: 0.1000001 }).length > 0);
  assert.ok(diff({ x: null }, { x: 0 }).length > 0);
  assert.ok(diff({ x: 0 }, { x: null }).length > 0);
  assert.ok(diff({ x: '1' }, { x: 1 }).length > 0);
  assert.ok(diff({ x: 1 }, {}).length > 0, 'missing key');
  assert.ok(diff({ r: [[1, 2]] }, { r: [[1, 2], [3, 4]] }).length > 0, 'array length');
  assert.ok(diff({ r: [[1, 2], [3, 4]] }, { r: [[3, 4], [1, 2]] }).length > 0, 'order matters by default');
  assert.equal(diff({ r: [[1, 2], [3, 4]] }, { r: [[3, 4], [1, 2]] }, ['r']).length, 0, 'unordered keys');
  assert.ok(diff({ r: [[1, 2], [1, 2]] }, { r: [[1, 2], [3, 4]] }, ['r']).length > 0, 'multiset, not set');
  assert.ok(diff({ r: [[1, 2]] }, { r: [[2, 1]] }, ['r']).length > 0, 'elements of an unordered array keep their order');
  assert.equal(diff({ r: [ANY, 2] }, { r: ['anything', 2] }).length, 0);
  assert.equal(diff({ g: [{ v: 1 }] }, { g: [{ v: 1, extra: 2 }] }).length, 0);
});

// Every file's cases run twice: on the rows as loaded (the days' in-memory heads), then — after
// a restart, which flushes each day's head into one part — on days the engine reads lazily
// from their parts (DayColumns), the path every compacted day of a real store takes.
const loadedProjects = new Map();  // file -> project

async function runCases(t, golden, base, project) {
    for (const c of golden.cases) {
      await t.test(c.name, async () => {
        let r;
        let shown;
        if (c.get !== undefined) {
          r = await srv.api('GET', `/api/v1/projects/${project}/${c.get}`);
          shown = `GET ${c.get}\nanswer (${r.status}): ${r.text}`;
        } else {
          const body = c.body !== undefined ? c.body : JSON.stringify({ ...(golden.defaults || {}), ...c.query });
          r = await srv.api('POST', `/api/v1/projects/${project}/query`, body,
            { headers: { 'Content-Type': 'application/json' } });
          shown = `query: ${body}\nanswer (${r.status}): ${r.text}`;
        }
        const wantStatus = c.status || 200;
        assert.equal(r.status, wantStatus, `HTTP status ${r.status}, expected ${wantStatus}\n${shown}`);
        if (c.content_type !== undefined) {
          const ct = r.headers.get('content-type') || '';
          assert.ok(ct.startsWith(c.content_type), `Content-Type "${ct}", expected "${c.content_type}..."\n${shown}`);
        }
        if (c.expect_text !== undefined) {
          const lines = (t) => t.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
          assert.deepEqual(lines(r.text), lines(c.expect_text), `${base} / ${c.name}: answer text\n${shown}`);
        }
        assert.ok(c.expect !== undefined || c.expect_text !== undefined, `${base} / ${c.name}: no expect`);
        if (c.expect !== undefined) {
          const diffs = compare(c.expect, r.body, '$', c.unordered || [], []);
          assert.ok(diffs.length === 0, `${base} / ${c.name}\n  ${diffs.join('\n  ')}\n${shown}`);
        }
      });
    }
}

for (const file of files) {
  const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, file), 'utf8'));
  const base = file.replace(/\.json$/, '');
  test(`golden ${base}`, async (t) => {
    const project = uniqueName(`g_${base.replace(/[^A-Za-z0-9_]/g, '_')}_`);
    const created = await srv.api('POST', '/api/v1/projects',
      { name: project, ...(golden.time_zone ? { time_zone: golden.time_zone } : {}) });
    assert.equal(created.status, 201, `create project: ${created.text}`);
    await load(project, golden.records || []);
    loadedProjects.set(file, project);
    await runCases(t, golden, base, project);
  });
}

test('restart: every day\'s head becomes a part', async () => {
  const info = await srv.restart();
  assert.deepEqual(info, { code: 0, signal: null }, `server exit on restart ${JSON.stringify(info)}`);
});

for (const file of files) {
  const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, file), 'utf8'));
  const base = file.replace(/\.json$/, '');
  test(`golden ${base} — from parts after a restart`, async (t) => {
    const project = loadedProjects.get(file);
    assert.ok(project, `${base} was not loaded`);
    await runCases(t, golden, base, project);
  });
}

// Last: SIGTERM must end the server with code 0 (under ASan, also no report at exit).
test('server exits cleanly after the golden queries', async () => {
  const s = srv;
  srv = null;
  const info = await s.stop({ keep: true });
  const log = s.tail(30);
  s.cleanup();
  assert.deepEqual(info, { code: 0, signal: null }, `server exit ${JSON.stringify(info)}; log tail:\n${log}`);
});
