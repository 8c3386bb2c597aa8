'use strict';
// Sensors Analytics wire encodings (see ../../shared/sensors-protocol.md §1) and a curl runner,
// used to replay what the SDKs we cannot run here put on the wire.

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const b64 = (s) => Buffer.from(s).toString('base64');
const gzipB64 = (s) => zlib.gzipSync(Buffer.from(s)).toString('base64');

// Java String.hashCode() of the text as signed int32 (web `ext=crc=`, android `crc=`).
function javaHash(text) {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

// A track record with a unique _track_id; `over` is merged on top.
let trackSeq = Math.floor(Math.random() * 1e6);
function trackRecord(over = {}) {
  return {
    type: 'track',
    event: 'ViewProduct',
    distinct_id: 'u1',
    time: Date.now(),
    _track_id: ++trackSeq,
    lib: { $lib: 'curl', $lib_version: '0' },
    properties: { price: 1.5 },
    ...over,
  };
}

// Runs curl; resolves {status, headers (lower-case keys; last response), body (Buffer), text}.
function curl(args, { timeoutMs = 60000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-curl-'));
  const hdr = path.join(dir, 'h');
  const body = path.join(dir, 'b');
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), '-D', hdr, '-o', body,
      '-w', '%{http_code}', ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      try {
        const status = Number(String(stdout).trim());
        let headers = {};
        let raw = '';
        try { raw = fs.readFileSync(hdr, 'utf8'); } catch { /* none */ }
        // Keep only the last header block (after a possible "100 Continue").
        const blocks = raw.split(/\r?\n\r?\n/).filter((b) => b.trim());
        const last = blocks.length ? blocks[blocks.length - 1] : '';
        for (const line of last.split(/\r?\n/).slice(1)) {
          const i = line.indexOf(':');
          if (i > 0) {
            const k = line.slice(0, i).trim().toLowerCase();
            const v = line.slice(i + 1).trim();
            headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
          }
        }
        let buf = Buffer.alloc(0);
        try { buf = fs.readFileSync(body); } catch { /* none */ }
        if (err && !status) {
          reject(new Error(`curl failed: ${err.message} ${stderr}`));
          return;
        }
        let json;
        try { json = buf.length ? JSON.parse(buf.toString('utf8')) : undefined; } catch { json = undefined; }
        resolve({ status, headers, bytes: buf, text: buf.toString('utf8'), body: json, stderr: String(stderr) });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

module.exports = { b64, gzipB64, javaHash, trackRecord, curl };
