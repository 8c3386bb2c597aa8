#!/usr/bin/env node
'use strict';
// Console bundle size and page load (docs/benchmarks.md, "Console").
//
//   node bench/console/measure.js [--out docs/benchmarks.md] [--runs 3] [--customers 20000]
//                                 [--events 300000] [--seed 42] [--dist web/dist]
//
// 1. The size of every file in web/dist/assets, raw and gzip (zlib level 9, what a server
//    compressing ahead of time would send; `sextant serve` itself sends the files as they are).
// 2. The real server (`sextant serve --console-dir web/dist`, tests/lib/server.js) on a fresh data
//    directory loaded with the demo dataset (`sextant generate` + `sextant import --kind records`,
//    the example tags and segments, and the demo journey of scripts/run.sh), and headless
//    Chromium (playwright-core from tests/node_modules): for each main route, the time from
//    navigation start until the page is usable: the route's <h1> is visible and no loading
//    marker (`.loading` / `.spinner`, components/Feedback.tsx) is on the page. "Cold" is a fresh
//    browser context (empty cache, first load of the app; the browser itself has loaded the login
//    page once, untimed, in another context); "warm" is the same route loaded again
//    in that context (HTTP cache filled). Median and max over --runs runs. Also the JavaScript
//    and CSS the cold load had fetched by then (pages, ECharts and the journey canvas are chunks
//    loaded on demand, so this differs by route).
//
// It measures and prints; it asserts nothing. With --out FILE the block between
// <!-- console-bench --> and <!-- /console-bench --> in FILE is replaced (appended under a
// "## Console" heading when absent).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');

const REPO = path.resolve(__dirname, '..', '..');
const { Server, BIN } = require(path.join(REPO, 'tests', 'lib', 'server.js'));
const { chromium } = require(path.join(REPO, 'tests', 'node_modules', 'playwright-core'));

// Every page of the console (web/src/App.tsx), on the demo data: a customer the generator writes
// (C10000000001) and the demo journey (j1) for the pages that show one.
const ROUTES = ['/', '/data', '/users', '/users/C10000000001', '/analysis/events', '/analysis/funnel',
  '/analysis/retention', '/analysis/distribution', '/analysis/interval', '/analysis/paths', '/analysis/attribution',
  '/analysis/stages', '/analysis/dashboards', '/analysis/metrics', '/segments', '/tags', '/journeys', '/journeys/j1',
  '/journeys/new', '/channels', '/tasks', '/audit', '/accounts', '/wall', '/settings'];
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--no-first-run', '--disable-component-update', '--disable-sync'];
const READY_TIMEOUT_MS = 30000;
const SMALL_FILE = 10 * 1024; // lazy chunks below this size are summed up in one row of the table

function parseArgs(argv) {
  const o = { out: null, runs: 3, customers: 20000, events: 300000, seed: 42, dist: path.join(REPO, 'web', 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') o.out = path.resolve(v());
    else if (a === '--runs') o.runs = Math.max(1, Number(v()));
    else if (a === '--customers') o.customers = Number(v());
    else if (a === '--events') o.events = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--dist') o.dist = path.resolve(v());
    else if (a === '-h' || a === '--help') {
      const lines = fs.readFileSync(__filename, 'utf8').split('\n');
      console.log(lines.slice(2, lines.findIndex((l, i) => i > 2 && !l.startsWith('//'))).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (n) => (n === null || n === undefined ? '—' : `${Math.round(n)} ms`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

function bundleSizes(dist) {
  const dir = path.join(dist, 'assets');
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error(`${dist}/index.html is missing: cd web && npm run build`);
  const files = ['index.html', ...fs.readdirSync(dir).map((f) => path.join('assets', f))];
  const rows = files.map((f) => {
    const buf = fs.readFileSync(path.join(dist, f));
    return { file: f, raw: buf.length, gzip: zlib.gzipSync(buf, { level: 9 }).length };
  });
  rows.sort((a, b) => b.raw - a.raw);
  return rows;
}

// The JS and CSS the first page load fetches: index.html's <script>/<link> and their
// modulepreloads (lazy route chunks come later, when a route needs them).
function initialFiles(dist) {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const out = new Set(['index.html']);
  for (const m of html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)) out.add(m[1]);
  return out;
}

async function loadDemo(srv, opts) {
  const file = path.join(srv.root, 'demo.jsonl');
  const t0 = Date.now();
  execFileSync(BIN, ['generate', '--seed', String(opts.seed), '--customers', String(opts.customers),
    '--events', String(opts.events), '--out', file, '--quiet'], { stdio: 'inherit' });
  execFileSync(BIN, ['import', '--project', 'default', '--kind', 'records', '--server', srv.url, '--progress', 'never',
    '--errors', path.join(srv.root, 'import-errors.txt'), file],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SEXTANT_ADMIN_TOKEN: srv.token } });
  fs.rmSync(file, { force: true });
  // The example tags and segments, in order (segments use the tags before them).
  const dir = path.join(REPO, 'examples', 'audience');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const kind = f.includes('-segment-') ? 'segments' : 'tags';
    const r = await srv.api('POST', `/api/v1/projects/default/${kind}`, fs.readFileSync(path.join(dir, f), 'utf8'),
      { headers: { 'Content-Type': 'application/json' } });
    if (r.status >= 300) process.stderr.write(`# could not create ${f}: ${r.status} ${r.text.slice(0, 200)}\n`);
  }
  // The demo journey of scripts/run.sh (maker/checker operators, an in-app channel and template).
  const op = (name) => ({ headers: { 'X-Sextant-Operator': name } });
  const steps = [
    ['PUT', '/admin/operators', { demo_maker: ['maker'], demo_checker: ['approver'] }],
    ['PUT', '/projects/default/channels/inapp', { type: 'inapp' }],
    ['PUT', '/projects/default/templates/fund_nudge', { channel: 'inapp', subject: '还在考虑这只基金？', body: '看看它的历史表现和定投测算。投资有风险，入市需谨慎。' }, 'demo_maker'],
    ['POST', '/projects/default/templates/fund_nudge/approve', undefined, 'demo_checker'],
    ['POST', '/projects/default/journeys', {
      name: '基金详情未申购提醒 (demo)',
      entry: { type: 'breakpoint', event: 'view_fund_detail', not_followed_by: 'subscribe_fund', wait: '30m' },
      reentry: { mode: 'cooldown', cooldown: '7d' }, goal: { event: 'subscribe_fund', within: '7d' },
      control_percent: 10, start: 'nudge',
      nodes: { nudge: { type: 'send', channel: 'inapp', template: 'fund_nudge', next: 'done' }, done: { type: 'exit' } },
    }, 'demo_maker'],
    ['POST', '/projects/default/journeys/j1/submit', undefined, 'demo_maker'],
    ['POST', '/projects/default/journeys/j1/approve', undefined, 'demo_checker'],
    ['POST', '/projects/default/journeys/j1/start', undefined, 'demo_maker'],
  ];
  for (const [method, p, body, who] of steps) {
    const r = await srv.api(method, `/api/v1${p}`, body, who ? op(who) : {});
    if (r.status >= 300) process.stderr.write(`# demo journey: ${method} ${p}: ${r.status} ${r.text.slice(0, 200)}\n`);
  }
  return Date.now() - t0;
}

// Milliseconds from navigation start (performance.now() of the new document) until the page is
// usable, measured in the page itself.
async function timeRoute(page, url) {
  await page.goto(url, { waitUntil: 'commit' });
  const handle = await page.waitForFunction(() => {
    if (location.pathname === '/login') return false;
    const h = document.querySelector('main h1');
    if (!h) return false;
    const box = h.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    if (document.querySelector('.loading, .spinner')) return false;
    // Bytes of script and style bodies received so far (the server sends them uncompressed).
    const code = performance.getEntriesByType('resource').filter((r) => /\.(js|css)$/.test(new URL(r.name).pathname));
    return { ms: performance.now(), codeBytes: code.reduce((a, r) => a + r.encodedBodySize, 0) };
  }, null, { polling: 'raf', timeout: READY_TIMEOUT_MS });
  return handle.jsonValue();
}

async function measurePages(srv, opts) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  const results = {};
  try {
    // One untimed load first: a browser process that has just started pays once for things a
    // user's running browser has already done (fonts, caches of its own), and that would be
    // counted against whichever route came first. Its HTTP cache is not shared with the contexts
    // measured below.
    const warmup = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'zh-CN' });
    await (await warmup.newPage()).goto(`${srv.url}/login`, { waitUntil: 'load' });
    await warmup.close();
    for (const route of ROUTES) {
      const cold = [];
      const warm = [];
      const code = [];
      const requests = [];
      const errors = [];
      for (let run = 0; run < opts.runs; run++) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'zh-CN' });
        // Signed in the way the console keeps a session: the token in sessionStorage, the project
        // in localStorage (set before any script of the page runs).
        await context.addInitScript(([token]) => {
          sessionStorage.setItem('sextant.token', token);
          localStorage.setItem('sextant.project', 'default');
        }, [srv.token]);
        const page = await context.newPage();
        let count = 0;
        page.on('request', () => count++);
        page.on('pageerror', (e) => errors.push(e.message));
        try {
          const first = await timeRoute(page, srv.url + route);
          cold.push(first.ms);
          code.push(first.codeBytes);
          requests.push(count);
          warm.push((await timeRoute(page, srv.url + route)).ms);
        } catch (e) {
          errors.push(String(e.message).split('\n')[0]);
        }
        await context.close();
      }
      results[route] = { cold, warm, code, requests, errors };
      process.stderr.write(`# ${route}: cold ${cold.map(Math.round).join(', ')} ms; warm ${warm.map(Math.round).join(', ')} ms\n`);
    }
  } finally {
    await browser.close();
  }
  return results;
}

function markdown(opts, sizes, initial, pages, meta) {
  const lines = [];
  const sum = (rows, k) => rows.reduce((a, r) => a + r[k], 0);
  const first = sizes.filter((r) => initial.has(r.file));
  lines.push(`Bundle (\`web/dist\`, gzip at level 9; * = named by index.html, so fetched by every first load; the rest ` +
    `are chunks loaded on demand: the pages, ECharts, the journey canvas, the English catalogue):`);
  lines.push('');
  lines.push('| file | raw | gzip |');
  lines.push('|---|---:|---:|');
  const small = sizes.filter((r) => !initial.has(r.file) && r.raw < SMALL_FILE);
  for (const r of sizes.filter((x) => !small.includes(x))) {
    lines.push(`| ${r.file.replace(/-[A-Za-z0-9_-]{8}\./, '-*.')}${initial.has(r.file) ? ' *' : ''} | ${kib(r.raw)} | ${kib(r.gzip)} |`);
  }
  if (small.length) lines.push(`| ${small.length} smaller chunks (each < ${SMALL_FILE / 1024} KiB) | ${kib(sum(small, 'raw'))} | ${kib(sum(small, 'gzip'))} |`);
  lines.push(`| **first load (*)** | **${kib(sum(first, 'raw'))}** | **${kib(sum(first, 'gzip'))}** |`);
  lines.push(`| **all files** | **${kib(sum(sizes, 'raw'))}** | **${kib(sum(sizes, 'gzip'))}** |`);
  lines.push('');
  lines.push(`Time until usable (main heading visible, no loading marker), from navigation start, headless Chromium, ` +
    `loopback, ${opts.runs} run(s) per route, demo data: ${opts.customers} customers, ${opts.events} events ` +
    `(seed ${opts.seed}) plus the example tags, segments and demo journey:`);
  lines.push('');
  lines.push('| route | cold median | cold max | warm median | warm max | requests (cold) | JS + CSS (cold) | ≤ 1 s |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|:---:|');
  for (const route of ROUTES) {
    const r = pages[route];
    const worst = Math.max(...r.cold, ...r.warm);
    const ok = r.cold.length === opts.runs && r.warm.length === opts.runs && worst <= 1000;
    const note = r.errors.length ? ` (${r.errors.length} error(s): ${r.errors[0].slice(0, 80)})` : '';
    lines.push(`| \`${route}\` | ${ms(median(r.cold))} | ${ms(r.cold.length ? Math.max(...r.cold) : null)} | ` +
      `${ms(median(r.warm))} | ${ms(r.warm.length ? Math.max(...r.warm) : null)} | ${median(r.requests) ?? '—'} | ` +
      `${r.code.length ? kib(median(r.code)) : '—'} | ${ok ? 'yes' : 'no'}${note} |`);
  }
  lines.push('');
  lines.push(`Command: \`node bench/console/measure.js --out docs/benchmarks.md\` (${meta.date}; ${meta.machine}; ` +
    `demo data loaded in ${(meta.loadMs / 1000).toFixed(0)} s; load average at the start ${meta.load}).`);
  return lines.join('\n');
}

function writeBlock(file, body) {
  const open = '<!-- console-bench -->';
  const close = '<!-- /console-bench -->';
  const block = `${open}\n${body}\n${close}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + close.length);
  else text = `${text.replace(/\n*$/, '\n')}\n## Console\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const sizes = bundleSizes(opts.dist);
  const initial = initialFiles(opts.dist);
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const srv = new Server({ extraArgs: ['--console-dir', opts.dist] });
  await srv.start();
  let pages;
  let loadMs;
  try {
    process.stderr.write(`# server ${srv.url}, loading the demo data...\n`);
    loadMs = await loadDemo(srv, opts);
    // The store turns an imported past day into columns once nothing was added to it for 5 s
    // (store/event_store.h past_day_head_idle_ms); until then queries decode its rows. Pages are
    // measured on the settled store, as a user opening the console after the demo loaded meets it.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    process.stderr.write(`# loaded in ${(loadMs / 1000).toFixed(1)} s; measuring pages\n`);
    pages = await measurePages(srv, opts);
  } finally {
    await srv.stop();
  }
  const cpus = os.cpus();
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus.length} × ${cpus[0] ? cpus[0].model.trim() : 'CPU'}`,
    loadMs,
    load,
  };
  const md = markdown(opts, sizes, initial, pages, meta);
  console.log(md);
  if (opts.out) {
    writeBlock(opts.out, md);
    process.stderr.write(`# wrote ${opts.out}\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
