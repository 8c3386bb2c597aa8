'use strict';
// Soak test: ingest, analysis queries, segment refreshes and a running journey together for a
// fixed time on one server; samples memory and latencies per window and writes a summary.
//
//   node bench/soak/soak.js [--minutes 30] [--rate 2000] [--day-minutes 1] [--out docs/soak.md]
//
// Load (all on loopback, bounded): `rate` events/s in batches of 500 over 50,000 customers
// (5% deposits, some with amount ≥ 50,000, which a journey answers with a webhook to a local
// receiver under a 1/day cap); an events query (daily active customers, last 2 days) and a
// funnel every 5 s; a segment refresh every 30 s. Every 30 s: RSS of the server, and p50/p99
// of each kind of request in that window.
//
// Steady state: a production server keeps a bounded history (retention by age), so the data
// a query reads and the memory it needs stop growing. The soak reproduces that in 30 minutes:
// the server runs on the simulated clock, moved forward so that a day passes every
// `day-minutes` real minutes (1: thirty days in 30 minutes), events carry the simulated time,
// and the project keeps 2 days (`retention_days`). Days roll over, settle, are compacted and are
// deleted while the load runs. One day per real minute also lets the ingest deduplication
// window (7 days, kept as two generations of 3.5 days) turn over several times, so its memory
// reaches its steady saw-tooth within the warm-up; at 3 minutes per day it would still be
// filling at the end. (`--day-minutes 0`: the system clock, every event on one day;
// the data then grows all run long and latencies with it.)
//
// Pass criteria printed at the end: no failed request; RSS flat after a 10-minute warm-up
// (growth under 10 % per 10 minutes; with --day-minutes 0, RSS per stored event instead);
// p99s of the last third within 2× of the first third; no duplicate touch, every sent touch
// delivered, the ledger verifies; clean shutdown.
//
// Uses the test harness (tests/lib): the binary is $SEXTANT_BIN or build/src/cli/sextant.

const fs = require('node:fs');
const path = require('node:path');
const { startServer, sleep } = require('../../tests/lib/server');
const { startHttpReceiver } = require('../../tests/lib/receivers');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const MINUTES = Number(args.minutes || 30);
const RATE = Number(args.rate || 2000);
const OUT = args.out || '';
const DAY_MINUTES = Number(args['day-minutes'] ?? 1);
const STEADY = DAY_MINUTES > 0;
const CLOCK_TICK_MS = 1000;
// Simulated seconds per real tick: one day per DAY_MINUTES real minutes.
const SIM_SECONDS_PER_TICK = STEADY ? Math.round(86400 / (DAY_MINUTES * 60) * (CLOCK_TICK_MS / 1000)) : 0;
const KEEP_DAYS = 2;
const BATCH = 500;
const CUSTOMERS = 50_000;
const WINDOW_MS = 30_000;
const SECRET = 'soak-secret';

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
function rssMb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function main() {
  const simStart = Date.UTC(2026, 0, 5, 1, 0, 0);
  const srv = await startServer({ extraArgs: ['--durability', 'strict',
    ...(STEADY ? ['--clock', 'simulated', '--clock-start-ms', String(simStart)] : [])] });
  let simNow = simStart;
  const receiver = await startHttpReceiver({ secret: SECRET });
  const p = 'soak';
  const base = `/api/v1/projects/${p}`;
  const must = async (method, url, body, headers) => {
    const r = await srv.api(method, url, body, headers ? { headers } : {});
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.text}`);
    return r.body;
  };
  await srv.createProject(p);
  if (STEADY) await must('PUT', base, { retention_days: KEEP_DAYS });
  await must('PUT', '/api/v1/admin/operators', { soak_maker: ['maker'], soak_checker: ['approver'] });
  await must('PUT', `${base}/channels/hook`, { type: 'webhook', url: `${receiver.url}/hook`, secret: SECRET });
  await must('PUT', `${base}/touch-rules`, { caps: [{ channel: '*', count: 1, per: 'day' }] });
  await must('PUT', `${base}/templates/big_deposit`, { channel: 'hook', body: '感谢您的入金 {{event.amount}}' }, { 'X-Sextant-Operator': 'soak_maker' });
  await must('POST', `${base}/templates/big_deposit/approve`, undefined, { 'X-Sextant-Operator': 'soak_checker' });
  const journey = await must('POST', `${base}/journeys`, {
    name: 'big deposit thanks', entry: { type: 'event', event: 'deposit', where: [{ property: 'amount', op: '>=', value: 50000 }] },
    reentry: { mode: 'after_exit' }, start: 's',
    nodes: { s: { type: 'send', channel: 'hook', template: 'big_deposit', next: 'e' }, e: { type: 'exit' } },
  }, { 'X-Sextant-Operator': 'soak_maker' });
  for (const [action, who] of [['submit', 'soak_maker'], ['approve', 'soak_checker'], ['start', 'soak_maker']]) {
    await must('POST', `${base}/journeys/${journey.id}/${action}`, undefined, { 'X-Sextant-Operator': who });
  }
  const segment = await must('POST', `${base}/segments`, { name: 'depositors today', rule: { did: 'deposit', within: { last: '1d' } } });

  const latencies = { ingest: [], query: [], funnel: [], refresh: [] };
  const failures = [];
  let ingested = 0;
  let seq = 0;
  let stop = false;
  const timed = async (kind, fn) => {
    const started = process.hrtime.bigint();
    try {
      const r = await fn();
      if (r.status >= 300) failures.push(`${kind}: ${r.status} ${r.text.slice(0, 200)}`);
    } catch (e) {
      failures.push(`${kind}: ${e.message}`);
    }
    latencies[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
  };
  const names = ['login', 'view_fund', 'view_fund', 'view_fund_detail', 'search', 'logout'];
  const ingestLoop = async () => {
    const interval = (BATCH / RATE) * 1000;
    let next = Date.now();
    while (!stop) {
      const now = Date.now();
      const records = [];
      for (let i = 0; i < BATCH; i++) {
        const id = `c${(seq * 7919 + i * 104729) % CUSTOMERS}`;
        seq++;
        const deposit = seq % 20 === 0;
        const time = STEADY ? simNow : now;
        records.push(deposit
          ? { type: 'track', event: 'deposit', distinct_id: id, time, _track_id: seq, properties: { amount: (seq % 7) * 20000 } }
          : { type: 'track', event: names[seq % names.length], distinct_id: id, time, _track_id: seq, properties: { fund: `F${seq % 50}` } });
      }
      await timed('ingest', () => srv.records(p, records));
      ingested += BATCH;
      next += interval;
      await sleep(Math.max(0, next - Date.now()));
    }
  };
  const every = async (ms, fn) => {
    while (!stop) {
      await fn();
      await sleep(ms);
    }
  };
  const dau = { type: 'events', last: `${KEEP_DAYS}d`, unit: 'day', measures: [{ event: '$any', aggregator: 'uniq_users' }] };
  const funnel = { type: 'funnel', last: `${KEEP_DAYS}d`, window_seconds: 86400, steps: [{ event: 'view_fund' }, { event: 'view_fund_detail' }, { event: 'deposit' }] };

  const windows = [];
  const started = Date.now();
  const clockLoop = async () => {
    while (!stop && STEADY) {
      const r = await srv.api('POST', '/api/v1/admin/clock', { advance_seconds: SIM_SECONDS_PER_TICK });
      if (r.status !== 200) failures.push(`clock: ${r.status} ${r.text.slice(0, 200)}`);
      else simNow = r.body.now_ms;
      await sleep(CLOCK_TICK_MS);
    }
  };
  const loops = [
    clockLoop(),
    ingestLoop(),
    every(5000, () => timed('query', () => srv.api('POST', `${base}/query`, dau))),
    every(5000, () => timed('funnel', () => srv.api('POST', `${base}/query`, funnel))),
    every(30000, () => timed('refresh', () => srv.api('POST', `${base}/segments/${segment.id}/refresh`))),
  ];
  let windowStart = { ingest: 0, query: 0, funnel: 0, refresh: 0 };
  while (Date.now() - started < MINUTES * 60_000) {
    await sleep(WINDOW_MS);
    const row = { minute: (Date.now() - started) / 60_000, rss_mb: rssMb(srv.proc.pid), ingested, failures: failures.length,
      sim_day: STEADY ? new Date(simNow + 8 * 3600_000).toISOString().slice(0, 10) : '' };
    for (const kind of Object.keys(latencies)) {
      const slice = latencies[kind].slice(windowStart[kind]).sort((a, b) => a - b);
      windowStart[kind] = latencies[kind].length;
      row[`${kind}_p50`] = percentile(slice, 0.5);
      row[`${kind}_p99`] = percentile(slice, 0.99);
      row[`${kind}_n`] = slice.length;
    }
    windows.push(row);
    console.log(JSON.stringify(row));
  }
  stop = true;
  await Promise.all(loops);
  await sleep(3000);
  // Let the outbox drain: every sent touch delivered (or failed) before counting.
  let report;
  for (let i = 0; i < 60; i++) {
    report = await must('GET', `${base}/journeys/${journey.id}/report`);
    const node = (report.nodes || {}).s || {};
    if ((node.delivered || 0) + (node.failed || 0) >= (node.sent || 0)) break;
    await sleep(1000);
  }
  const verify = await must('GET', `${base}/ledger/verify`);
  const hooks = receiver.requests.filter((r) => r.path === '/hook');
  const delivered = hooks.length;
  const uniqueDeliveries = new Set(hooks.map((r) => r.headers['idempotency-key'])).size;
  const node = (report.nodes || {}).s || {};
  await receiver.close();
  const stopped = await srv.stop();

  // Verdicts.
  const warm = windows.filter((w) => w.minute >= Math.min(10, MINUTES / 3));
  const first = warm[0] || windows[0];
  const last = windows[windows.length - 1];
  const growthPer10 = warm.length > 1 ? ((last.rss_mb - first.rss_mb) / first.rss_mb) / ((last.minute - first.minute) / 10) : 0;
  const perMillion = (w) => w.rss_mb / Math.max(w.ingested / 1e6, 1e-9);
  const third = Math.max(1, Math.floor(windows.length / 3));
  const maxP99 = (rows, kind) => Math.max(...rows.map((w) => w[`${kind}_p99`]));
  const stable = Object.keys(latencies).map((kind) => {
    const early = maxP99(windows.slice(0, third), kind);
    const late = maxP99(windows.slice(-third), kind);
    return { kind, early, late, ok: late <= Math.max(2 * early, 50) };
  });
  const checks = [
    ['no failed request', failures.length === 0, `${failures.length} failures${failures.length ? ': ' + failures.slice(0, 3).join(' | ') : ''}`],
    // Steady state: the history is bounded, so RSS itself must stay flat. On the system clock
    // the data grows all the time (today's columns, heads, caches), so "flat" is judged per
    // stored event: RSS per million events must not grow after the warm-up.
    STEADY
      ? ['memory flat after a 10-minute warm-up (< 10 % growth per 10 min)', growthPer10 < 0.10,
        `RSS ${first.rss_mb.toFixed(0)} → ${last.rss_mb.toFixed(0)} MB from minute ${first.minute.toFixed(1)} to ${last.minute.toFixed(1)} (${(growthPer10 * 100).toFixed(1)} % per 10 min)`]
      : ['memory flat per stored event after a 10-minute warm-up', perMillion(last) <= perMillion(first) * 1.1,
        `${perMillion(first).toFixed(0)} → ${perMillion(last).toFixed(0)} MB per million events (RSS ${first.rss_mb.toFixed(0)} → ${last.rss_mb.toFixed(0)} MB, ${(growthPer10 * 100).toFixed(1)} % per 10 min)`],
    ...stable.map((s) => [`${s.kind} p99 stable (last third ≤ 2× first third)`, s.ok, `${s.early.toFixed(1)} → ${s.late.toFixed(1)} ms`]),
    ['no duplicate touch', uniqueDeliveries === delivered, `${delivered} webhooks, ${uniqueDeliveries} distinct idempotency keys`],
    ['every sent touch delivered', node.delivered === delivered && (node.sent || 0) === delivered, `${node.sent} sent, ${node.delivered} delivered by the report, ${delivered} received`],
    ['ledger verifies', verify.valid === true, `${verify.entries} entries`],
    ['clean shutdown', stopped.code === 0, `exit ${stopped.code}`],
  ];
  const lines = [];
  lines.push(`Command: \`node bench/soak/soak.js --minutes ${MINUTES} --rate ${RATE} --day-minutes ${DAY_MINUTES}\` — ${new Date().toISOString().slice(0, 10)}, ${require('node:os').cpus().length} cores.`);
  lines.push('');
  lines.push(`Ingested ${ingested.toLocaleString('en')} events (${RATE}/s target, strict durability)` +
    (STEADY ? `, spread over ${windows.length ? new Set(windows.map((w) => w.sim_day)).size : 0} simulated days (one per ${DAY_MINUTES} real minutes) with ${KEEP_DAYS} days kept` : ', all on one day') +
    `; journey entered ${report.entered}, ${delivered} webhooks delivered.`);
  lines.push('');
  lines.push('| minute | simulated day | RSS MB | ingest p50 / p99 ms | events query p50 / p99 ms | funnel p50 / p99 ms | segment refresh p99 ms | failures |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const w of windows.filter((_, i) => i % 2 === 1 || i === windows.length - 1)) {
    lines.push(`| ${w.minute.toFixed(1)} | ${w.sim_day || '–'} | ${w.rss_mb.toFixed(0)} | ${w.ingest_p50.toFixed(1)} / ${w.ingest_p99.toFixed(1)} | ${w.query_p50.toFixed(1)} / ${w.query_p99.toFixed(1)} | ${w.funnel_p50.toFixed(1)} / ${w.funnel_p99.toFixed(1)} | ${w.refresh_p99.toFixed(1)} | ${w.failures} |`);
  }
  lines.push('');
  lines.push('| check | result | measured |');
  lines.push('|---|---|---|');
  for (const [name, ok, measured] of checks) lines.push(`| ${name} | ${ok ? 'pass' : '**FAIL**'} | ${measured} |`);
  const text = lines.join('\n');
  console.log(text);
  if (OUT) {
    const doc = fs.readFileSync(OUT, 'utf8');
    const marker = /<!-- soak -->[\s\S]*<!-- \/soak -->/;
    const block = `<!-- soak -->\n${text}\n<!-- /soak -->`;
    fs.writeFileSync(OUT, marker.test(doc) ? doc.replace(marker, block) : `${doc}\n${block}\n`);
  }
  process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
