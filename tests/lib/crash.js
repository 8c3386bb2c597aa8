'use strict';
// Helpers of the crash suites (crash_maintenance, disk_faults, bench/crash): a seeded random
// source, so that a failing run can be repeated with its printed seed; the event store's
// MANIFEST and part files (docs/storage-format.md), so a test can tell where a kill -9 landed —
// a part written but not yet in the MANIFEST is a flush or compaction cut short, a part the
// MANIFEST no longer lists is a compaction input not yet unlinked; and /metrics as numbers.

const fs = require('node:fs');
const path = require('node:path');
const { request } = require('./server');

const MANIFEST_MAGIC = 0x31464e4d54585853n;  // "SXXTMNF1"

// Parses DATA_DIR/events/MANIFEST: {checkpointLsn, nextPartSeq, days: [{project, day,
// flushedLsn, parts: [{seq, bytes, rows}]}]}; null when there is none (an empty store).
function readManifest(dataDir) {
  const file = path.join(dataDir, 'events', 'MANIFEST');
  if (!fs.existsSync(file)) return null;
  const buf = fs.readFileSync(file);
  let o = 0;
  const u32 = () => { const v = buf.readUInt32LE(o); o += 4; return v; };
  const i32 = () => { const v = buf.readInt32LE(o); o += 4; return v; };
  const u64 = () => { const v = buf.readBigUInt64LE(o); o += 8; return v; };
  if (u64() !== MANIFEST_MAGIC) throw new Error(`${file}: bad magic`);
  const version = u32();
  const checkpointLsn = u64();
  const nextPartSeq = Number(u64());
  const days = [];
  for (let d = u32(); d > 0; d--) {
    const project = u32();
    const day = i32();
    const flushedLsn = u64();
    const parts = [];
    for (let n = u32(); n > 0; n--) parts.push({ seq: Number(u64()), bytes: Number(u64()), rows: u32() });
    days.push({ project, day, flushedLsn, parts });
  }
  if (o + 4 !== buf.length) throw new Error(`${file}: ${buf.length - o} bytes after the days`);
  return { version, checkpointLsn, nextPartSeq, days };
}

// Part files on disk: [{project, day, seq, file}].
function partFiles(dataDir) {
  const root = path.join(dataDir, 'events');
  const out = [];
  if (!fs.existsSync(root)) return out;
  for (const p of fs.readdirSync(root)) {
    const pm = /^p(\d+)$/.exec(p);
    if (!pm) continue;
    for (const d of fs.readdirSync(path.join(root, p))) {
      const dm = /^d(-?\d+)$/.exec(d);
      if (!dm) continue;
      for (const f of fs.readdirSync(path.join(root, p, d))) {
        const fm = /^(\d+)\.part$/.exec(f);
        if (fm) out.push({ project: Number(pm[1]), day: Number(dm[1]), seq: Number(fm[1]), file: path.join(root, p, d, f) });
      }
    }
  }
  return out;
}

// Where a kill left the store: `unlisted_new` part files newer than the MANIFEST (a flush or
// compaction that had written its part but not swapped the MANIFEST), `unlisted_old` part
// files the MANIFEST no longer lists (inputs of a finished compaction not yet deleted), and the
// MANIFEST's part count per (project, day).
function storeState(dataDir) {
  const manifest = readManifest(dataDir);
  const listed = new Set();
  const partsPerDay = new Map();
  if (manifest) {
    for (const d of manifest.days) {
      partsPerDay.set(`${d.project}/${d.day}`, d.parts.length);
      for (const p of d.parts) listed.add(p.seq);
    }
  }
  const next = manifest ? manifest.nextPartSeq : 0;
  const files = partFiles(dataDir);
  return {
    manifest,
    partsPerDay,
    unlistedNew: files.filter((f) => !listed.has(f.seq) && f.seq >= next).length,
    unlistedOld: files.filter((f) => !listed.has(f.seq) && f.seq < next).length,
    missing: [...listed].filter((s) => !files.some((f) => f.seq === s)),
  };
}

// /metrics as {name: number} (unlabelled samples only).
async function metrics(srv) {
  const r = await request(`${srv.url}/metrics`, { timeoutMs: 5000 });
  const out = {};
  for (const line of r.text.split('\n')) {
    const m = /^([a-z_]+) (\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// mulberry32: a small, fast, seedable PRNG; rng() is uniform in [0, 1).
function seededRandom(seed) {
  let a = seed >>> 0;
  const rng = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  rng.int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));  // inclusive
  rng.seed = seed >>> 0;
  return rng;
}

// The seed of a run: $CRASH_SEED when given (to repeat a run), else a fresh one.
function crashSeed() {
  const s = process.env.CRASH_SEED;
  return s ? Number(s) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

module.exports = { readManifest, partFiles, storeState, metrics, seededRandom, crashSeed };
