'use strict';
// Proves the channel test helpers in lib/receivers.js before other suites rely on them: the HTTP
// receiver's Sextant HMAC and Tencent TC3 checks (the latter against Tencent Cloud's published
// "Signature v3" DescribeInstances example), programmed answers, and an SMTP round trip through
// the aiosmtpd receiver with a hand-written SMTP conversation.
// Run: cd tests && node --test blackbox/channels_support.test.js

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const { startHttpReceiver, startSmtpReceiver, decodeRfc2047, smtpMessageIdFor } = require('../lib/receivers');

// POST with node:http (fetch may not set Host, which TC3 signs).
function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sextantSignature = (secret, ts, body) =>
  'v1=' + crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');

test('http receiver: Sextant HMAC valid, invalid and absent; default answer', async () => {
  const hook = await startHttpReceiver({ secret: 'whsec_test' });
  try {
    const body = '{"journey":"welcome","node":3}';
    // Same value as channel_test.cc's WebhookSignature test (computed there with openssl).
    assert.equal(sextantSignature('whsec_test', 1700000000, body),
      'v1=0e84dbc99023d1e729a51fbc04ddb9f988d9c256f4e11395ec304b14b43c8645');

    const ok = await post(`${hook.url}/hooks/a?x=1`, {
      'content-type': 'application/json', 'idempotency-key': 'k1',
      'x-sextant-timestamp': '1700000000',
      'x-sextant-signature': sextantSignature('whsec_test', 1700000000, body),
    }, body);
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.text), { ok: true });

    await post(`${hook.url}/hooks/a`, {
      'x-sextant-timestamp': '1700000000',
      'x-sextant-signature': sextantSignature('other-secret', 1700000000, body),
    }, body);
    await post(`${hook.url}/hooks/a`, {
      'x-sextant-timestamp': '1700000001',  // timestamp is part of the signed text
      'x-sextant-signature': sextantSignature('whsec_test', 1700000000, body),
    }, body);
    await post(`${hook.url}/plain`, { 'content-type': 'text/plain' }, 'hi');

    await hook.waitForRequests(4);
    const [first, wrongSecret, wrongTimestamp, unsigned] = hook.requests;
    assert.equal(first.method, 'POST');
    assert.equal(first.path, '/hooks/a');
    assert.deepEqual(first.query, { x: '1' });
    assert.equal(first.headers['idempotency-key'], 'k1');
    assert.deepEqual(first.json, { journey: 'welcome', node: 3 });
    assert.equal(first.signatureValid, true);
    assert.equal(wrongSecret.signatureValid, false);
    assert.equal(wrongTimestamp.signatureValid, false);
    assert.equal(unsigned.signatureValid, null);
    assert.equal(unsigned.body, 'hi');
  } finally {
    await hook.close();
  }
});

test('http receiver: TC3 verification matches Tencent Cloud\'s published example', async () => {
  // Tencent Cloud API "Signature v3", CVM DescribeInstances example (SecretKey
  // Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, timestamp 1551113065, signature 72e494ea...).
  const hook = await startHttpReceiver({ tencentSecretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE' });
  try {
    const payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
    const headers = {
      Authorization: 'TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168',
      'Content-Type': 'application/json; charset=utf-8',
      Host: 'cvm.tencentcloudapi.com',
      'X-TC-Action': 'DescribeInstances',
      'X-TC-Timestamp': '1551113065',
      'X-TC-Version': '2017-03-12',
      'X-TC-Region': 'ap-guangzhou',
    };
    const answer = await post(`${hook.url}/`, headers, payload);
    assert.equal(answer.status, 200);
    const sendStatus = JSON.parse(answer.text).Response.SendStatusSet[0];
    assert.equal(sendStatus.Code, 'Ok');
    assert.match(sendStatus.SerialNo, /^sx-serial-/);

    await post(`${hook.url}/`, headers, payload.replace('"Limit": 1', '"Limit": 2'));
    await post(`${hook.url}/`, { ...headers, 'X-TC-Timestamp': '1551113066' }, payload);

    await hook.waitForRequests(3);
    const [published, tamperedBody, otherTimestamp] = hook.requests;
    assert.equal(published.signatureValid, true, JSON.stringify(published.signature));
    assert.equal(published.signature.secretId, 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE');
    assert.equal(published.signature.service, 'cvm');
    assert.equal(tamperedBody.signatureValid, false);
    assert.equal(otherTimestamp.signatureValid, false);
  } finally {
    await hook.close();
  }
});

test('http receiver: programmed answers, wechat default, delayed answer', async () => {
  const hook = await startHttpReceiver({ secret: 's' });
  try {
    const wechat = await post(`${hook.url}/cgi-bin/message/template/send?access_token=t`, {}, '{}');
    assert.deepEqual(JSON.parse(wechat.text), { errcode: 0, errmsg: 'ok', msgid: 123 });

    hook.respondWith((req) => (req.path === '/fail' ? { status: 500, body: { error: 'down' } } : undefined));
    const failed = await post(`${hook.url}/fail`, {}, '{}');
    assert.equal(failed.status, 500);
    assert.deepEqual(JSON.parse(failed.text), { error: 'down' });
    const fallback = await post(`${hook.url}/other`, {}, '{}');
    assert.deepEqual(JSON.parse(fallback.text), { ok: true });

    hook.respondWith(() => ({ status: 400, body: 'bad', delayMs: 150 }));
    const started = Date.now();
    const delayed = await post(`${hook.url}/slow`, {}, '{}');
    assert.equal(delayed.status, 400);
    assert.equal(delayed.text, 'bad');
    assert.ok(Date.now() - started >= 140);
  } finally {
    await hook.close();
  }
});

// A line-oriented SMTP client: send(command) resolves with the (last line of the) reply.
function smtpClient(port) {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waiters = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    let idx;
    while ((idx = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) waiters.shift()?.(line);
    }
  });
  const next = () => new Promise((resolve) => waiters.push(resolve));
  return {
    greeting: next(),
    send(text) { const reply = next(); socket.write(text); return reply; },
    close() { socket.end(); },
  };
}

test('smtp receiver: a raw SMTP conversation is recorded and decoded', async () => {
  const mail = await startSmtpReceiver();
  try {
    assert.match(mail.url, /^smtp:\/\/127\.0\.0\.1:\d+$/);
    const client = smtpClient(mail.port);
    assert.match(await client.greeting, /^220 /);
    assert.match(await client.send('EHLO [127.0.0.1]\r\n'), /^250 /);
    assert.match(await client.send('MAIL FROM:<noreply@sextant.test>\r\n'), /^250 /);
    assert.match(await client.send('RCPT TO:<alice@example.com>\r\n'), /^250 /);
    assert.match(await client.send('DATA\r\n'), /^354 /);
    const subject = '您的基金已到期';
    const body = '尊敬的客户：\r\n您的基金已到期。\r\n';
    const b64 = Buffer.from(body).toString('base64').replace(/.{1,76}/g, '$&\r\n');
    const message = [
      'From: noreply@sextant.test',
      'To: alice@example.com',
      `Subject: =?UTF-8?B?${Buffer.from(subject.slice(0, 3)).toString('base64')}?=\r\n =?UTF-8?B?${Buffer.from(subject.slice(3)).toString('base64')}?=`,
      'Message-ID: <j1=3Av2@sextant>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: base64',
      '',
      b64 + '.\r\n',
    ].join('\r\n');
    assert.match(await client.send(message), /^250 /);
    assert.match(await client.send('QUIT\r\n'), /^221 /);
    client.close();

    const [received] = await mail.waitForMessages(1);
    assert.equal(received.mailFrom, 'noreply@sextant.test');
    assert.deepEqual(received.rcptTos, ['alice@example.com']);
    assert.equal(received.from, 'noreply@sextant.test');
    assert.equal(received.to, 'alice@example.com');
    assert.equal(received.subject, subject);
    assert.equal(received.body, '尊敬的客户：\n您的基金已到期。\n');
    assert.equal(received.messageId, '<j1=3Av2@sextant>');
    assert.equal(received.headers['content-transfer-encoding'], 'base64');
  } finally {
    await mail.close();
  }
});

test('smtpMessageIdFor: the C++ encoding of idempotency keys', () => {
  // Same cases as channel_test.cc (SmtpSender.HeaderEncodingAndDotStuffing).
  assert.equal(smtpMessageIdFor('j1:v2'), '<j1=3Av2@sextant>');
  assert.equal(smtpMessageIdFor('a=3Ab'), '<a=3D3Ab@sextant>');
  assert.equal(smtpMessageIdFor('touch-1.x_y'), '<touch-1.x_y@sextant>');
  assert.equal(smtpMessageIdFor('é'), '<=C3=A9@sextant>');
});

test('decodeRfc2047: B and Q words, plain text untouched', () => {
  assert.equal(decodeRfc2047('=?UTF-8?B?5oKo5aW9?= =?UTF-8?Q?_world?='), '您好 world');
  assert.equal(decodeRfc2047('Plain subject'), 'Plain subject');
});
