'use strict';
// Crash campaign: the long, repeatable version of the crash suites (docs/reliability.md). Each
// round runs every phase once, each phase a fresh server killed with SIGKILL at random points:
//
//   ingest      tests/blackbox/crash.test.js — 4 clients stream numbered events, 4 kills + 1
//               after the last acknowledgement; every acknowledged event exactly once
//   compaction  tests/blackbox/crash_maintenance.test.js (a) — kills while heads are flushed and
//               days merged, and while a restart finishes the merges; exactly once, MANIFEST ok
//   segments    crash_maintenance.test.js (b) + (c2) — kills during segment refreshes and tag
//               runs; sizes, members and tag values right after a refresh (b); membership events
//               agree with the membership (c2)
//   journey     tests/blackbox/journey_crash.test.js — kills while customers enter and while
//               touches are delivered; no lost and no duplicate touch, ledger intact
//
//   node bench/crash/campaign.js [--rounds 50] [--seed N] [--minutes M]
//        [--phases ingest,compaction,segments,journey] [--out docs/reliability.md]
//        [--logs /tmp/sextant-crash-campaign]
//
// Every phase of round r gets CRASH_SEED = f(seed, r, phase), printed with any failure, so one
// phase can be repeated alone (the kill moments also depend on timing, so a repeat is the same
// schedule, not always the same interleaving):
//   CRASH_SEED=<s> node --test --test-name-pattern='\(a\)' tests/blackbox/crash_maintenance.test.js
// The output of a failed phase and its kept data directories are left under --logs.
// `--out` rewrites the block between <!-- campaign --> and <!-- /campaign --> of that file.
// The binary is $SEXTANT_BIN or build/src/cli/sextant (tests/lib/server.js).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const TESTS = path.join(REPO, 'tests');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const ROUNDS = Number(args.rounds || 50);
const MINUTES = Number(args.minutes || 0);
const SEED = args.seed !== undefined ? Number(args.seed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const OUT = args.out || '';
const LOGS = args.logs || path.join(os.tmpdir(), 'sextant-crash-campaign');

const PHASES = {
  ingest: {
    file: 'blackbox/crash.test.js', tests: { ingest: /every acknowledged event survives/ },
    kills: (out) => { const m = /# \d+ batches, \d+ retried, (\d+) server starts/.exec(out); return m ? Number(m[1]) - 1 : 0; },
  },
  compaction: {
    file: 'blackbox/crash_maintenance.test.js', pattern: '\\(a\\)', env: { CRASH_COMPACT_ROUNDS: '6' },
    tests: { compaction: /^\(a\)/ },
    kills: (out) => { const m = /# (\d+) kills:/.exec(out); return m ? Number(m[1]) : 0; },
    points: (out) => {
      const m = /# \d+ kills: (\d+) with a merged part not yet in the MANIFEST, (\d+) after the swap before the inputs were deleted, (\d+) between writes/.exec(out);
      return m ? { 'part written, MANIFEST not swapped': Number(m[1]), 'MANIFEST swapped, inputs not deleted': Number(m[2]), 'between writes': Number(m[3]) } : {};
    },
  },
  segments: {
    file: 'blackbox/crash_maintenance.test.js', pattern: '\\(b\\)|\\(c2\\)', env: { CRASH_SEGMENT_ROUNDS: '4' },
    tests: { 'segments: sizes, members, tags': /^\(b\)/, 'segments: membership events': /^\(c2\)/ },
    kills: (out) => (out.match(/# round \d+: killed/g) || []).length,
  },
  journey: {
    file: 'blackbox/journey_crash.test.js', tests: { journey: /kill -9 while entering/ },
    kills: (out) => (/^ok \d+ - kill -9 while entering/m.test(out) ? 2 : 0),
  },
};
const phases = (args.phases || 'ingest,compaction,segments,journey').split(',');
for (const p of phases) if (!PHASES[p]) throw new Error(`unknown phase ${p} (${Object.keys(PHASES).join(', ')})`);

// One node --test run; resolves {code, out, ms}.
function runTests(file, pattern, env) {
  const argv = ['--test', '--test-reporter=tap', '--test-concurrency=1'];
  if (pattern) argv.push(`--test-name-pattern=${pattern}`);
  argv.push(file);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: TESTS, env: { ...process.env, SEXTANT_KEEP_DATA: '1', ...env } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => resolve({ code, out, ms: Date.now() - started }));
  });
}

// Top-level TAP results: [{ok, name, error}] (skipped tests left out).
function results(out) {
  const lines = out.split('\n');
  const res = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(ok|not ok) \d+ - (.*)$/.exec(lines[i]);
    if (!m || /# SKIP/.test(m[2])) continue;
    let error = '';
    if (m[1] === 'not ok') {
      const block = [];
      for (let j = i + 1; j < lines.length && !/^ {2}\.\.\.$/.test(lines[j]); j++) block.push(lines[j]);
      const at = block.findIndex((l) => /^ {2}error:/.test(l));
      if (at >= 0 && /^ {2}error: \|-$/.test(block[at])) {
        // A multi-line message: the lines indented under it.
        const body = [];
        for (let j = at + 1; j < block.length && /^ {4}/.test(block[j]); j++) body.push(block[j].trim());
        error = body.filter(Boolean).join(' ');
      } else if (at >= 0) {
        error = block[at].replace(/^ {2}error: /, '').replace(/^(['"])(.*)\1$/, '$2');
      }
      error = error.slice(0, 300);
    }
    res.push({ ok: m[1] === 'ok', name: m[2], error });
  }
  return res;
}

function keptDirs(out) {
  const dirs = new Set();
  for (const m of out.matchAll(/# kept sextant data dir (\S+), log/g)) dirs.add(path.dirname(m[1]));
  return [...dirs];
}

function median(xs) {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  fs.mkdirSync(LOGS, { recursive: true });
  const started = Date.now();
  console.log(`crash campaign: seed ${SEED}, ${ROUNDS} rounds${MINUTES ? ` or ${MINUTES} minutes` : ''}, phases ${phases.join(', ')}; binary ${process.env.SEXTANT_BIN || 'build/src/cli/sextant'}`);
  const stats = {};   // check name -> {runs, passed, failures: []}
  const phaseStats = {};
  let rounds = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (MINUTES && Date.now() - started > MINUTES * 60_000) break;
    rounds++;
    for (const [pi, name] of phases.entries()) {
      const phase = PHASES[name];
      const seed = (SEED + round * 7919 + pi * 104_729) >>> 0;
      const run = await runTests(phase.file, phase.pattern, { ...(phase.env || {}), CRASH_SEED: String(seed) });
      const res = results(run.out);
      const ps = phaseStats[name] || (phaseStats[name] = { runs: 0, kills: 0, ms: [], points: {} });
      ps.runs++;
      ps.kills += phase.kills(run.out);
      ps.ms.push(run.ms);
      if (phase.points) for (const [k, v] of Object.entries(phase.points(run.out))) ps.points[k] = (ps.points[k] || 0) + v;
      let failed = false;
      for (const [check, re] of Object.entries(phase.tests)) {
        const st = stats[check] || (stats[check] = { phase: name, runs: 0, passed: 0, failures: [] });
        const r = res.find((x) => re.test(x.name));
        st.runs++;
        if (r && r.ok) st.passed++;
        else {
          failed = true;
          st.failures.push({ round, seed, error: r ? r.error : `no result (exit ${run.code})` });
        }
      }
      const kept = keptDirs(run.out);
      if (failed) {
        const log = path.join(LOGS, `round${round}-${name}.log`);
        fs.writeFileSync(log, run.out);
        console.log(`round ${round} ${name}: FAIL (seed ${seed}, ${(run.ms / 1000).toFixed(1)} s) — ${log}; data dirs: ${kept.join(' ') || 'none'}`);
      } else {
        for (const d of kept) fs.rmSync(d, { recursive: true, force: true });
        console.log(`round ${round} ${name}: ok (${(run.ms / 1000).toFixed(1)} s, ${phase.kills(run.out)} kills)`);
      }
    }
  }
  const minutes = (Date.now() - started) / 60_000;
  const date = new Date().toISOString().slice(0, 10);
  const lines = [];
  lines.push(`Command: \`node bench/crash/campaign.js --rounds ${ROUNDS} --seed ${SEED}${args.phases ? ` --phases ${args.phases}` : ''}\` — ${date}, ${os.cpus().length} cores, ${rounds} rounds in ${minutes.toFixed(1)} minutes.`);
  lines.push('');
  lines.push('| phase | runs | kill -9 | median run s | crash points seen |');
  lines.push('|---|---|---|---|---|');
  for (const [name, ps] of Object.entries(phaseStats)) {
    const points = Object.entries(ps.points).map(([k, v]) => `${k}: ${v}`).join('; ') || '–';
    lines.push(`| ${name} | ${ps.runs} | ${ps.kills} | ${(median(ps.ms) / 1000).toFixed(1)} | ${points} |`);
  }
  lines.push('');
  lines.push('| check | passed | failed | first failure (round, CRASH_SEED: error) |');
  lines.push('|---|---|---|---|');
  for (const [check, st] of Object.entries(stats)) {
    const f = st.failures[0];
    const first = f ? `round ${f.round}, ${f.seed}: ${f.error.slice(0, 200).replace(/\|/g, '\\|')}${f.error.length > 200 ? ' …' : ''}` : '–';
    lines.push(`| ${check} | ${st.passed}/${st.runs} | ${st.runs - st.passed} | ${first} |`);
  }
  const table = lines.join('\n');
  console.log(`\n${table}\n`);
  if (OUT) {
    const file = path.resolve(REPO, OUT);
    const text = fs.readFileSync(file, 'utf8');
    const re = /<!-- campaign -->[\s\S]*<!-- \/campaign -->/;
    if (!re.test(text)) throw new Error(`${OUT} has no <!-- campaign --> block`);
    fs.writeFileSync(file, text.replace(re, `<!-- campaign -->\n${table}\n<!-- /campaign -->`));
    console.log(`wrote ${OUT}`);
  }
  const failed = Object.values(stats).some((st) => st.passed < st.runs);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(2); });
