'use strict';
// Encryption at rest of personal data (issue: security and privacy): with a keyring
// (SEXTANT_PII_KEYS or --pii-key-file) profiles, identities, the identity index, the ledger,
// messages, tasks and ingest errors are sealed with AES-256-GCM in the state store. The test
// proves it from the outside: the same records written without a keyring leave the phone number
// in the data directory's files, with one they do not; every read path still answers in clear;
// a restart without the key refuses to start with a clear message; rotation to a new key with
// `sextant pii rotate` keeps everything readable with only the new key.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startServer, BIN } = require('../lib/server');
const { filesContaining } = require('../lib/files');

const PHONE = '13987654321';
const EMAIL = 'li.lei@example.com';
let servers = [];
after(async () => { for (const s of servers) await s.stop().catch(() => {}); });

function keyLine(id) {
  const r = spawnSync(BIN, ['pii', 'keygen', '--id', String(id)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), new RegExp(`^${id}:[A-Za-z0-9+/]{43}=$`));
  return r.stdout.trim();
}

// A customer known by login id and phone, with a profile holding both, and a rejected record
// quoting the phone.
async function load(srv) {
  await srv.createProject('bank');
  const r = await srv.records('bank', [
    { type: 'profile_set', distinct_id: 'cust-1', identities: { $identity_login_id: 'cust-1', $identity_mobile: PHONE },
      properties: { phone: PHONE, email: EMAIL, risk_level: 'R3' } },
    { type: 'track', event: 'Login', distinct_id: 'cust-1', identities: { $identity_login_id: 'cust-1', $identity_mobile: PHONE }, properties: {} },
    { type: 'track', distinct_id: PHONE, properties: { note: 'no event name' } },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.rejected.length, 1);
}

async function assertReadable(srv) {
  const byLogin = await srv.user('bank', 'cust-1');
  assert.equal(byLogin.status, 200, byLogin.text);
  assert.equal(byLogin.body.profile.phone, PHONE);
  assert.equal(byLogin.body.profile.email, EMAIL);
  assert.ok(byLogin.body.identities.some((i) => i.key === '$identity_mobile' && i.value === PHONE));
  const byPhone = await srv.user('bank', PHONE, '$identity_mobile');
  assert.equal(byPhone.status, 200, byPhone.text);
  assert.equal(byPhone.body.user_id, byLogin.body.user_id);
  const errors = (await srv.ingestErrors('bank')).body.errors;
  assert.ok(errors.some((e) => e.record.includes(PHONE)), JSON.stringify(errors));
  const seg = await srv.api('POST', '/api/v1/projects/bank/segments/estimate',
    { rule: { all: [{ profile: 'phone', op: '=', value: PHONE }] } });
  assert.equal(seg.status, 200, seg.text);
  assert.equal(seg.body.size, 1, seg.text);
}

test('without a keyring the phone number is in the files (the check below can fail)', async () => {
  const srv = await startServer();
  servers.push(srv);
  await load(srv);
  await assertReadable(srv);
  assert.notDeepEqual(filesContaining(path.join(srv.dataDir, 'state'), PHONE), []);
});

test('with a keyring personal data is sealed at rest, read in clear, and needs its key to start; rotation', { timeout: 120000 }, async () => {
  const key1 = keyLine(1);
  const srv = await startServer({ env: { SEXTANT_PII_KEYS: key1 } });
  servers.push(srv);
  await load(srv);
  await assertReadable(srv);
  await srv.restart();
  await assertReadable(srv);
  // Every file of the state store (its log, its tables after the shutdown's compaction).
  for (const needle of [PHONE, EMAIL]) {
    assert.deepEqual(filesContaining(path.join(srv.dataDir, 'state'), needle), [], `${needle} in clear`);
  }

  // Without the key the server refuses to start, saying what it needs.
  await srv.stop({ keep: true });
  const refused = spawnSync(BIN, ['serve', '--data-dir', srv.dataDir, '--listen', '127.0.0.1:0'],
    { encoding: 'utf8', env: { ...process.env, SEXTANT_PII_KEYS: '' }, timeout: 30000 });
  assert.notEqual(refused.status, 0);
  assert.equal(refused.signal, null);
  assert.match(refused.stderr + refused.stdout, /encrypted with key 1, which the keyring does not have/);

  // Rotation: key 2 added and made active, `sextant pii rotate`, then key 1 dropped.
  const key2 = keyLine(2);
  const keyring = path.join(srv.root, 'keys.txt');
  fs.writeFileSync(keyring, `# sextant keyring\n${key1}\n${key2}\n`, { mode: 0o600 });
  const rotated = spawnSync(BIN, ['pii', 'rotate', '--data-dir', srv.dataDir, '--pii-key-file', keyring], { encoding: 'utf8' });
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(rotated.stdout, /sealed under key 2: [1-9]\d* values, [1-9]\d* identity index keys/);
  fs.writeFileSync(keyring, `${key2}\n`, { mode: 0o600 });
  srv.opts.extraArgs = ['--pii-key-file', keyring];
  srv.opts.env = { SEXTANT_PII_KEYS: '' };
  await srv.start();
  await assertReadable(srv);
  // The ledger CLI reads sealed entries with the keyring too.
  await srv.stop({ keep: true });
  const ledger = spawnSync(BIN, ['ledger', 'verify', '--data-dir', srv.dataDir, '--pii-key-file', keyring], { encoding: 'utf8' });
  assert.equal(ledger.status, 0, ledger.stdout + ledger.stderr);
  await srv.start();
});
