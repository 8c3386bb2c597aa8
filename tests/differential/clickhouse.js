'use strict';
// A private ClickHouse (Debian 12's clickhouse-server 18.16) for one test file: its own config,
// users file and data directory in a temp dir, listening on free loopback ports, started as a
// child process (no systemd, nothing outside the temp dir). Same setup as bench/clickhouse_env.sh.
//
//   const ch = await startClickHouse();     // throws a clear error if the binary is missing
//   await ch.query('CREATE TABLE ...');     // text answer; throws on HTTP errors
//   await ch.json('SELECT ...');            // rows of FORMAT JSONCompact (64-bit ints as numbers)
//   await ch.insert('INSERT INTO t FORMAT TSV', tsvText);
//   await ch.stop();                        // SIGTERM (SIGKILL after 30 s), removes the temp dir
//
// $CLICKHOUSE_SERVER_BIN overrides the binary; otherwise clickhouse-server is looked up in PATH,
// /usr/sbin and /usr/bin. SEXTANT_KEEP_DATA=1 keeps the directory (and its logs).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One HTTP request without keep-alive (ClickHouse 18.16 waits for idle keep-alive connections
// on shutdown, which made every stop take ~25 s). Resolves {status, text}.
function request(method, url, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { Connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`ClickHouse request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function findServerBinary() {
  if (process.env.CLICKHOUSE_SERVER_BIN) {
    try {
      fs.accessSync(process.env.CLICKHOUSE_SERVER_BIN, fs.constants.X_OK);
      return process.env.CLICKHOUSE_SERVER_BIN;
    } catch { return null; }
  }
  const dirs = [...(process.env.PATH || '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = path.join(d, 'clickhouse-server');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

class ClickHouse {
  constructor(bin) {
    this.bin = bin;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-diff-ch-'));
    this.proc = null;
    this.url = '';
  }

  async start() {
    const d = this.dir;
    for (const sub of ['data', 'tmp', 'user_files', 'log']) fs.mkdirSync(path.join(d, sub), { recursive: true });
    const [httpPort, tcpPort, interPort] = [await freePort(), await freePort(), await freePort()];
    fs.writeFileSync(path.join(d, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${d}/log/server.log</log><errorlog>${d}/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <interserver_http_port>${interPort}</interserver_http_port>
  <max_connections>64</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>50</max_concurrent_queries>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <mark_cache_size>134217728</mark_cache_size>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <users_config>${d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`);
    fs.writeFileSync(path.join(d, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage><max_threads>2</max_threads><log_queries>0</log_queries></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`);
    const out = fs.openSync(path.join(d, 'log', 'stdout.log'), 'a');
    const proc = spawn(this.bin, [`--config-file=${d}/config.xml`], { cwd: d, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.proc = proc;
    proc.exitInfo = null;
    // Never leave a ClickHouse behind if the test process dies without running stop().
    const onExit = () => { if (!proc.exitInfo) { try { proc.kill('SIGKILL'); } catch { /* gone */ } } };
    process.once('exit', onExit);
    proc.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { proc.exitInfo = { code, signal }; resolve(proc.exitInfo); }));
    proc.on('error', (e) => { proc.exitInfo = { code: null, signal: null, error: e }; });
    this.url = `http://127.0.0.1:${httpPort}`;
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      if (proc.exitInfo) break;
      try {
        const res = await request('GET', `${this.url}/ping`, undefined, 2000);
        if (res.status === 200) return this;
      } catch { /* not yet */ }
      await sleep(250);
    }
    const info = proc.exitInfo ? `exited ${JSON.stringify(proc.exitInfo)}` : 'no answer to /ping within 60 s';
    await this.stop({ keep: true });
    throw new Error(`clickhouse-server (${this.bin}) did not start: ${info}; logs in ${d}/log\n${this.logTail()}`);
  }

  logTail(n = 20) {
    const parts = [];
    for (const f of ['error.log', 'stdout.log']) {
      try {
        parts.push(`--- ${f}\n${fs.readFileSync(path.join(this.dir, 'log', f), 'utf8').split('\n').slice(-n).join('\n')}`);
      } catch { /* none */ }
    }
    return parts.join('\n');
  }

  // Runs one statement over HTTP; `settings` become URL parameters. Returns the answer text.
  async query(sql, { body, settings = {}, timeoutMs = 120000 } = {}) {
    const params = new URLSearchParams(settings);
    let payload = sql;
    if (body !== undefined) {
      params.set('query', sql);
      payload = body;
    }
    const res = await request('POST', `${this.url}/?${params}`, payload, timeoutMs);
    if (res.status !== 200) throw new Error(`ClickHouse ${res.status}: ${res.text.trim()}\nquery: ${sql}`);
    return res.text;
  }

  async insert(sql, data) {
    return this.query(sql, { body: data });
  }

  // SELECT ... → array of rows (arrays), numbers unquoted. max_threads=1 by default so that
  // order-sensitive aggregates (windowFunnel on tied timestamps) see rows in table order.
  async json(sql, settings = {}) {
    const text = await this.query(`${sql}\nFORMAT JSONCompact`, {
      settings: { output_format_json_quote_64bit_integers: 0, max_threads: 1, ...settings } });
    return JSON.parse(text).data;
  }

  async stop({ keep = false } = {}) {
    const proc = this.proc;
    if (proc && !proc.exitInfo) {
      proc.kill('SIGTERM');
      let timer;
      const r = await Promise.race([proc.exited, new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 30000); })]);
      clearTimeout(timer);
      if (r === 'timeout') {
        proc.kill('SIGKILL');
        await proc.exited;
      }
    }
    if (keep || process.env.SEXTANT_KEEP_DATA) {
      process.stderr.write(`# kept ClickHouse dir ${this.dir}\n`);
      return;
    }
    try { fs.rmSync(this.dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
}

async function startClickHouse() {
  const bin = findServerBinary();
  if (!bin) {
    throw new Error('clickhouse-server not found (PATH, /usr/sbin, /usr/bin; or set CLICKHOUSE_SERVER_BIN). '
      + 'The differential test needs ClickHouse 18.16: run `scripts/install-deps.sh --all` '
      + '(Debian package clickhouse-server).');
  }
  const ch = new ClickHouse(bin);
  await ch.start();
  return ch;
}

module.exports = { startClickHouse, findServerBinary, ClickHouse };
