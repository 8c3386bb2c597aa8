'use strict';
// Fake delivery endpoints for the channel black-box tests: an HTTP receiver that records every
// request and checks its signature (Sextant webhook/push HMAC or Tencent Cloud TC3), and an SMTP
// receiver (aiosmtpd, tests/lib/smtp_receiver.py) that records every message, decoded.
//
//   const { startHttpReceiver, startSmtpReceiver } = require('../lib/receivers');
//   const hook = await startHttpReceiver({ secret: 'whsec', tencentSecretKey: 'sk' });
//   // channel config url: hook.url + '/any/path'
//   hook.respondWith((req) => ({ status: 500, body: { error: 'down' } }));   // optional
//   await hook.waitForRequests(1);  hook.requests[0].signatureValid === true
//   await hook.close();
//
//   const mail = await startSmtpReceiver();          // channel config url: mail.url
//   await mail.waitForMessages(1);  mail.messages[0].subject, .body, .messageId
//   await mail.close();
//
// Signature checks are written independently of the C++ code (node:crypto only), from
// docs/channels.md and Tencent Cloud's "Signature v3" documentation.

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const readline = require('node:readline');
const { spawn } = require('node:child_process');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const sha256Hex = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// X-Sextant-Signature: "v1=" + hex HMAC-SHA256(secret, `${X-Sextant-Timestamp}.${body}`).
// Returns {valid, reason}.
function verifySextantSignature(secret, headers, body) {
  const signature = headers['x-sextant-signature'];
  const timestamp = headers['x-sextant-timestamp'];
  if (!secret) return { valid: false, reason: 'receiver has no secret' };
  if (!/^\d+$/.test(timestamp || '')) return { valid: false, reason: 'missing or bad X-Sextant-Timestamp' };
  const expected = 'v1=' + crypto.createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${timestamp}.`), body])).digest('hex');
  return safeEqual(signature, expected) ? { valid: true } : { valid: false, reason: 'signature mismatch' };
}

// Tencent Cloud API 3.0 TC3-HMAC-SHA256 (Signature v3). Returns {valid, reason, secretId, date,
// service}. CanonicalURI is always "/" and the query string is empty for POST, per the docs.
function verifyTc3(secretKey, { method, rawQuery, headers, body }) {
  const auth = headers.authorization || '';
  const m = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { valid: false, reason: 'malformed Authorization' };
  const [, secretId, date, service, signedHeaders, signature] = m;
  const info = { secretId, date, service };
  if (!secretKey) return { valid: false, reason: 'receiver has no tencentSecretKey', ...info };
  const timestamp = headers['x-tc-timestamp'] || '';
  if (!/^\d+$/.test(timestamp)) return { valid: false, reason: 'missing X-TC-Timestamp', ...info };
  if (new Date(Number(timestamp) * 1000).toISOString().slice(0, 10) !== date) {
    return { valid: false, reason: 'credential date is not the UTC date of X-TC-Timestamp', ...info };
  }
  const names = signedHeaders.split(';');
  if (!names.includes('content-type') || !names.includes('host')) {
    return { valid: false, reason: 'content-type and host must be signed', ...info };
  }
  const canonicalHeaders = names
    .map((name) => `${name}:${String(headers[name] ?? '').trim().toLowerCase()}\n`).join('');
  const canonicalRequest = [method, '/', method === 'POST' ? '' : rawQuery, canonicalHeaders,
    signedHeaders, sha256Hex(body)].join('\n');
  const stringToSign = ['TC3-HMAC-SHA256', timestamp, `${date}/${service}/tc3_request`,
    sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac('TC3' + secretKey, date);
  const kService = hmac(kDate, service);
  const kSigning = hmac(kService, 'tc3_request');
  const expected = crypto.createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return safeEqual(signature, expected) ? { valid: true, ...info } : { valid: false, reason: 'signature mismatch', ...info };
}

function isTencent(req) {
  return Boolean(req.headers['x-tc-action']) || (req.headers.authorization || '').startsWith('TC3-HMAC-SHA256');
}
function isWechat(req) {
  return req.path.includes('/cgi-bin/') || 'access_token' in req.query;
}

function defaultAnswer(req, index) {
  if (isTencent(req)) {
    const phone = req.json && Array.isArray(req.json.PhoneNumberSet) ? req.json.PhoneNumberSet[0] : '';
    return {
      status: 200,
      body: { Response: { SendStatusSet: [{ SerialNo: `sx-serial-${index}`, PhoneNumber: phone, Fee: 1, Code: 'Ok', Message: 'send success' }], RequestId: `sx-request-${index}` } },
    };
  }
  if (isWechat(req)) return { status: 200, body: { errcode: 0, errmsg: 'ok', msgid: 123 } };
  return { status: 200, body: { ok: true } };
}

// Records every request: {method, path, query (object), rawQuery, headers (lower-case names),
// body (text), bodyBytes (Buffer), json (parsed or undefined), signatureValid (true/false when
// an X-Sextant-Signature or TC3 Authorization header is present, else null), signature
// ({scheme, reason, ...} details), receivedAt}.
// respondWith(fn): fn(req) → {status, body (object → JSON, string as is), headers, delayMs}
// (may be async; returning undefined keeps the default answer; delayMs holds the answer back,
// e.g. to make the sender time out).
async function startHttpReceiver({ secret, tencentSecretKey } = {}) {
  const requests = [];
  let responder = null;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const bodyBytes = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://receiver.invalid');
      const record = {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        rawQuery: url.search.slice(1),
        headers: req.headers,
        body: bodyBytes.toString('utf8'),
        bodyBytes,
        json: undefined,
        signatureValid: null,
        signature: null,
        receivedAt: Date.now(),
      };
      try { record.json = JSON.parse(record.body); } catch { /* not JSON */ }
      if (req.headers['x-sextant-signature'] !== undefined) {
        const check = verifySextantSignature(secret, req.headers, bodyBytes);
        record.signatureValid = check.valid;
        record.signature = { scheme: 'sextant-v1', ...check };
      } else if ((req.headers.authorization || '').startsWith('TC3-')) {
        const check = verifyTc3(tencentSecretKey, { method: req.method, rawQuery: record.rawQuery, headers: req.headers, body: bodyBytes });
        record.signatureValid = check.valid;
        record.signature = { scheme: 'tc3', ...check };
      }
      const index = requests.push(record);
      let answer = defaultAnswer(record, index);
      try {
        const programmed = responder ? await responder(record) : undefined;
        if (programmed) answer = { status: 200, ...programmed };
      } catch (e) {
        answer = { status: 599, body: `receiver respondWith threw: ${e.message}` };
      }
      if (answer.delayMs) await sleep(answer.delayMs);
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      if (res.destroyed) return;  // the client gave up while we were delaying
      res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...(answer.headers || {}) });
      res.end(text);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respondWith(fn) { responder = fn; },
    waitForRequests(count = 1, timeoutMs = 5000) {
      return waitUntil(() => requests.length >= count, timeoutMs, `${count} request(s)`).then(() => requests);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SMTP

// Header map (lower-case names, unfolded values) and body of a CRLF (or LF) message.
function splitMessage(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

// RFC 2047 encoded-words (B and Q, UTF-8 or any charset Node knows); whitespace between adjacent
// encoded-words is dropped, as the RFC says.
function decodeRfc2047(value) {
  return value
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, encoding, text) => {
      const bytes = encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (__, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      try { return new TextDecoder(charset.toLowerCase()).decode(bytes); } catch { return bytes.toString('utf8'); }
    });
}

function decodeBody(body, transferEncoding) {
  const encoding = (transferEncoding || '').toLowerCase();
  let bytes;
  if (encoding === 'base64') {
    bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } else if (encoding === 'quoted-printable') {
    bytes = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  } else {
    bytes = Buffer.from(body, 'utf8');
  }
  // Text travels with CRLF line ends (MIME canonical form); hand tests plain "\n".
  return bytes.toString('utf8').replace(/\r\n/g, '\n');
}

// {mailFrom, rcptTos, from, to, subject (decoded), body (decoded text, "\n" line ends),
//  messageId (header value as written, with <>), date, headers, raw}.
function parseSmtpMessage({ mail_from: mailFrom, rcpt_tos: rcptTos, data }) {
  const { headers, body } = splitMessage(data);
  return {
    mailFrom,
    rcptTos,
    from: headers.from,
    to: headers.to,
    subject: headers.subject === undefined ? undefined : decodeRfc2047(headers.subject),
    body: decodeBody(body, headers['content-transfer-encoding']),
    messageId: headers['message-id'],
    date: headers.date,
    headers,
    raw: data,
  };
}

// The Message-ID Sextant's SMTP sender writes for an idempotency key (docs/channels.md): bytes
// outside RFC 5322 atext, and "=", become =XX.
function smtpMessageIdFor(key) {
  const atext = /[A-Za-z0-9!#$%&'*+\-/?^_`{|}~.]/;
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && atext.test(c) ? c : '=' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return `<${out}@sextant>`;
}

// The Python that has aiosmtpd: $SEXTANT_PYTHON, else Debian's /usr/bin/python3 (where
// python3-aiosmtpd installs; a pyenv/venv `python3` first on PATH usually lacks it), else python3.
function pythonBinary() {
  if (process.env.SEXTANT_PYTHON) return process.env.SEXTANT_PYTHON;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

async function startSmtpReceiver({ startTimeoutMs = 15000 } = {}) {
  const script = path.join(__dirname, 'smtp_receiver.py');
  const proc = spawn(pythonBinary(), [script, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages = [];
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  let exited = false;
  const exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => { exited = true; resolve({ code, signal }); }));

  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smtp_receiver did not start in ${startTimeoutMs} ms: ${stderr}`)), startTimeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    exitPromise.then(({ code }) => { clearTimeout(timer); reject(new Error(`smtp_receiver exited (${code}): ${stderr}`)); });
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      let event;
      try { event = JSON.parse(line); } catch { return; }
      if (event.ready) {
        clearTimeout(timer);
        resolve(event.port);
      } else if (typeof event.data === 'string') {
        messages.push(parseSmtpMessage(event));
      }
    });
  });

  return {
    host: '127.0.0.1',
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitForMessages(count = 1, timeoutMs = 5000) {
      return waitUntil(() => messages.length >= count, timeoutMs, `${count} SMTP message(s)`).then(() => messages);
    },
    async close() {
      if (exited) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

module.exports = {
  startHttpReceiver,
  startSmtpReceiver,
  verifySextantSignature,
  verifyTc3,
  decodeRfc2047,
  parseSmtpMessage,
  smtpMessageIdFor,
};
