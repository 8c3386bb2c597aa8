'use strict';
// Test harness: starts the real `sextant serve` binary on a free loopback port with a fresh
// data directory, and offers small helpers to drive its HTTP API.
//
//   const { startServer, waitFor } = require('../lib/server');
//   const srv = await startServer();           // srv.url, srv.port, srv.token, srv.dataDir
//   const r = await srv.api('GET', '/api/v1/projects');   // r.status, r.body (parsed JSON), r.text
//   await srv.stop();                           // SIGTERM, waits for exit, returns {code, signal};
//                                               // throws unless the exit is clean (code 0)
//
// The binary is $SEXTANT_BIN, default <repo>/build/src/cli/sextant. Set SEXTANT_KEEP_DATA=1 to
// keep the data directory and server log after the test (their paths are printed on stop).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const BIN = process.env.SEXTANT_BIN || path.join(REPO, 'build', 'src', 'cli', 'sextant');
const ADMIN_TOKEN = 'test-admin-token';
const LISTEN_RE = /sextant: listening on http:\/\/127\.0\.0\.1:(\d+)/;
const START_TIMEOUT_MS = Number(process.env.SEXTANT_START_TIMEOUT_MS || 30000);
const STOP_TIMEOUT_MS = 20000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `fn` until it returns a truthy value without throwing; returns that value. Assertion
// errors thrown by `fn` are retried; the last one is rethrown on timeout, so a failing poll
// reports the real mismatch instead of "timed out".
async function waitFor(fn, timeoutMs = 3000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      lastErr = new Error(`waitFor: condition still false after ${timeoutMs} ms`);
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) throw lastErr;
    await sleep(intervalMs);
  }
}

// One HTTP request with fetch; the body is parsed as JSON when it looks like JSON.
async function request(url, { method = 'GET', headers = {}, body, timeoutMs = 30000 } = {}) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  let json;
  try { json = text.length ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: json, text, bytes: buf };
}

class Server {
  constructor(opts = {}) {
    this.opts = opts;
    this.token = opts.adminToken || ADMIN_TOKEN;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-test-'));
    this.dataDir = path.join(this.root, 'data');
    fs.mkdirSync(this.dataDir);
    this.logPath = path.join(this.root, 'server.log');
    this.proc = null;
    this.port = 0;
    this.url = '';
    this.starts = 0;
    this.exits = [];     // {code, signal} of every process that ended
  }

  async start(port = 0) {
    if (!fs.existsSync(BIN)) {
      throw new Error(`sextant binary not found at ${BIN} (build it, or set SEXTANT_BIN)`);
    }
    const args = ['serve', '--data-dir', this.dataDir, '--listen', `127.0.0.1:${port}`,
      '--admin-token', this.token, ...(this.opts.extraArgs || [])];
    const logPath = this.logPath;
    const log = (d) => { try { fs.appendFileSync(logPath, d); } catch { /* ignore */ } };
    log(`\n=== start #${++this.starts}: ${BIN} ${args.join(' ')}\n`);
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(this.opts.env || {}) } });
    this.proc = proc;
    proc.exitInfo = null;
    proc.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        proc.exitInfo = { code, signal };
        this.exits.push(proc.exitInfo);
        if (!proc.expectExit) {
          this.unexpectedExit = true;
          process.stderr.write(`# sextant (pid ${proc.pid}) exited unexpectedly: code ${code}, signal ${signal}; log ${this.logPath}\n${this.tail(15)}\n`);
        }
        resolve(proc.exitInfo);
      });
    });
    proc.stderr.on('data', (d) => log(d));
    let stdoutBuf = '';
    const listening = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `server did not print its listening line within ${START_TIMEOUT_MS} ms; log: ${this.logPath}\n${this.tail()}`)),
      START_TIMEOUT_MS);
      proc.stdout.on('data', (d) => {
        log(d);
        stdoutBuf += d.toString();
        const m = LISTEN_RE.exec(stdoutBuf);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited during start (code ${code}, signal ${signal}); log: ${this.logPath}\n${this.tail()}`));
      });
      proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    this.port = await listening;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  tail(n = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-n).join('\n');
    } catch { return ''; }
  }

  get running() { return !!(this.proc && !this.proc.exitInfo); }
  get pid() { return this.proc && this.proc.pid; }

  // SIGTERM and wait; returns {code, signal}. Kills with SIGKILL if it hangs. A server asked to
  // stop must exit with code 0: a signal (a crash while stopping), another code or a hang makes
  // stop() throw with the log's tail, so every test that stops a server checks its shutdown.
  // `allowUnclean` is for the few tests that expect an error exit and assert on it themselves.
  async stop({ keep = false, allowUnclean = false } = {}) {
    let info = null;
    if (this.running) {
      const proc = this.proc;
      proc.expectExit = true;
      proc.kill('SIGTERM');
      let timer;
      const t = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS); });
      info = await Promise.race([proc.exited, t]);
      clearTimeout(timer);
      if (info === 'timeout') {
        proc.kill('SIGKILL');
        await proc.exited;
        info = { code: null, signal: 'SIGTERM-timeout' };
      }
      if (!allowUnclean && !(info.code === 0 && info.signal === null)) {
        this.unexpectedExit = true;   // keeps the data dir and log for the reader
        this.cleanup();
        throw new Error(`sextant (pid ${proc.pid}) did not stop cleanly on SIGTERM: code ${info.code}, signal ${info.signal}; log ${this.logPath}\n${this.tail(15)}`);
      }
    } else if (this.proc) {
      info = this.proc.exitInfo;
    }
    if (!keep) this.cleanup();
    return info;
  }

  cleanup() {
    if (process.env.SEXTANT_KEEP_DATA || this.unexpectedExit) {
      process.stderr.write(`# kept sextant data dir ${this.dataDir}, log ${this.logPath}\n`);
      return;
    }
    try { fs.rmSync(this.root, { recursive: true, force: true }); } catch { /* ignore */ }
  }

  // SIGKILL without cleanup; the data dir stays for restart().
  async kill9() {
    if (!this.running) return this.proc && this.proc.exitInfo;
    this.proc.expectExit = true;
    this.proc.kill('SIGKILL');
    return this.proc.exited;
  }

  // Starts again on the same data dir (new free port unless `port` is given).
  async restart({ port = 0, signal = 'SIGTERM' } = {}) {
    let info = null;
    if (this.running) {
      if (signal === 'SIGKILL') info = await this.kill9();
      else info = await this.stop({ keep: true });
    }
    await this.start(port);
    return info;
  }

  // JSON API call with the admin bearer token. `body` (object/array) is sent as JSON; a string
  // or Buffer is sent as-is. opts.token overrides the token (null = no Authorization header).
  async api(method, p, body, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    const token = opts.token === undefined ? this.token : opts.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
      else { payload = JSON.stringify(body); headers['Content-Type'] = headers['Content-Type'] || 'application/json'; }
    }
    return request(this.url + p, { method, headers, body: payload, timeoutMs: opts.timeoutMs });
  }

  // Convenience wrappers over the read API (return the raw {status, body}).
  user(project, id, key) {
    const q = key ? `?key=${encodeURIComponent(key)}` : '';
    return this.api('GET', `/api/v1/projects/${encodeURIComponent(project)}/users/${encodeURIComponent(id)}${q}`);
  }
  events(project, id, limit = 1000, key) {
    const q = `?limit=${limit}` + (key ? `&key=${encodeURIComponent(key)}` : '');
    return this.api('GET', `/api/v1/projects/${encodeURIComponent(project)}/users/${encodeURIComponent(id)}/events${q}`);
  }
  item(project, type, id) {
    return this.api('GET', `/api/v1/projects/${encodeURIComponent(project)}/items/${encodeURIComponent(type)}/${encodeURIComponent(id)}`);
  }
  ingestErrors(project, limit = 100) {
    return this.api('GET', `/api/v1/projects/${encodeURIComponent(project)}/ingest-errors?limit=${limit}`);
  }
  schema(project) {
    return this.api('GET', `/api/v1/projects/${encodeURIComponent(project)}/schema`);
  }
  records(project, records, opts) {
    return this.api('POST', `/api/v1/projects/${encodeURIComponent(project)}/records`, records, opts);
  }
  async createProject(name, token) {
    const body = token === undefined ? { name } : { name, token };
    const r = await this.api('POST', '/api/v1/projects', body);
    if (r.status !== 201) throw new Error(`create project ${name}: ${r.status} ${r.text}`);
    return r;
  }
  async healthy() {
    const r = await request(this.url + '/healthz', { timeoutMs: 5000 });
    return r.status === 200 && r.body && r.body.status === 'ok';
  }
}

async function startServer(opts = {}) {
  const srv = new Server(opts);
  try {
    await srv.start();
  } catch (e) {
    srv.cleanup();
    throw e;
  }
  return srv;
}

// Unique names so that tests sharing a server never see each other's data.
let uniq = 0;
function uniqueName(prefix = 'p') {
  return `${prefix}${process.pid}_${Date.now().toString(36)}_${++uniq}`;
}

module.exports = { startServer, waitFor, request, sleep, uniqueName, BIN, REPO, ADMIN_TOKEN, Server };
