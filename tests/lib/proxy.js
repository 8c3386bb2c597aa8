'use strict';
// A recording HTTP proxy in front of the server: the SDK under test talks to the proxy, which
// forwards each request unchanged and remembers request and answer, so tests can assert on what
// went over the wire (paths, headers, bodies) as well as on the server's state.

const http = require('node:http');

// opts.override(entry) may return {status, headers, body} to answer the client with something
// else than the server's answer (the request still reaches the server): e.g. a lost response.
function startRecordingProxy(targetUrl, opts = {}) {
  const target = new URL(targetUrl);
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry = { method: req.method, path: req.url, headers: req.headers, body: body.toString('utf8') };
      const headers = { ...req.headers, host: target.host };
      const fwd = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
        const rc = [];
        up.on('data', (c) => rc.push(c));
        up.on('end', () => {
          entry.status = up.statusCode;
          entry.responseHeaders = up.headers;
          entry.responseBody = Buffer.concat(rc).toString('utf8');
          requests.push(entry);
          const o = opts.override && opts.override(entry);
          if (o) {
            entry.overridden = o.status;
            res.writeHead(o.status, o.headers || {});
            res.end(o.body || '');
            return;
          }
          res.writeHead(up.statusCode, up.headers);
          res.end(Buffer.concat(rc));
        });
      });
      fwd.on('error', (e) => {
        entry.status = 599;
        entry.error = e.message;
        requests.push(entry);
        res.writeHead(502);
        res.end();
      });
      fwd.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({ url, requests, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

module.exports = { startRecordingProxy };
