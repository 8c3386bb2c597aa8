'use strict';
// End-to-end: the console's Settings page and wall screen (数字大屏), in headless Chromium
// against the real server serving the built console (web/dist).
//   operator — in Settings → API tokens, creates a token with the one scope analysis.read; the
//              token shown once works for POST /query (200) and is refused GET /journeys (403),
//              and is listed (without its text) by GET /auth/tokens;
//   admin    — in Settings → Personal data, classifies vip_note as secret; GET /pii shows it;
//   operator — opens a bookmarked wall screen (/wall?project=…&m=events,users): "events today"
//              equals the number of events the test ingested, and an event ingested while the
//              screen is open appears in its live ticker.
// Skips (with the reason) when the console has not been built (cd web && npm run build).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName, sleep } = require('../lib/server');
const { openConsole, skipReason, CONSOLE_DIR } = require('../lib/console');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console settings e2e skipped: ${SKIP}\n`);

const PASSWORD = 'console settings password';
const OPERATOR = 'op_settings';
const EVENTS_TODAY = 7;
let srv;
let project;
let trackId = 0;
const base = () => `/api/v1/projects/${encodeURIComponent(project)}`;

async function api(method, path, body, opts) {
  const r = await srv.api(method, path, body, opts);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
}

async function ingest(records) {
  const r = await srv.records(project, records);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, records.length, r.text);
}

before(async () => {
  if (SKIP) return;
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR] });
  project = uniqueName('settings');
  await api('POST', '/api/v1/projects', { name: project, time_zone: 'Asia/Shanghai' });
  // EVENTS_TODAY events of three customers, a few seconds ago (today in the project's zone
  // unless the test runs in the first seconds after midnight, Shanghai).
  const now = Date.now();
  await ingest(Array.from({ length: EVENTS_TODAY }, (_, i) => ({
    type: 'track', event: i % 2 ? 'ViewFund' : 'Login', distinct_id: `u${i % 3}`, time: now - (i + 1) * 1000, _track_id: ++trackId, properties: { n: i },
  })));
  await api('POST', '/api/v1/admin/accounts', { name: OPERATOR, password: PASSWORD, roles: ['operator'], projects: [project] });
});
after(async () => { if (srv) await srv.stop(); });

const nav = (page, name) => page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name, exact: true });
const pageErrors = (c) => c.errors.filter((e) => !/status of 40[134]/.test(e));

async function pickProject(page) {
  await waitFor(async () => (await page.getByLabel('项目', { exact: true }).locator('option').allTextContents()).includes(project), 10000, 100);
  await page.getByLabel('项目', { exact: true }).selectOption(project);
}

test('operator: an API token with scope analysis.read, shown once, works for queries only', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await c.signInWithPassword(OPERATOR, PASSWORD);
    await nav(page, '设置').click();
    await page.getByRole('heading', { name: '设置', level: 1 }).waitFor();
    // Projects tab: the SDK endpoints of the operator's project.
    await page.getByRole('table', { name: '项目列表' }).getByText(`/sa?project=${project}`, { exact: false }).waitFor();
    await page.getByRole('tab', { name: 'API 令牌' }).click();
    await page.getByText('您还没有 API 令牌。').waitFor();
    await page.getByLabel('令牌名称', { exact: true }).fill('bi-export');
    await page.getByLabel('有效期（天）', { exact: true }).fill('30');
    await page.getByLabel('调用频率上限', { exact: true }).fill('600');
    // Only the operator's own permissions are offered as scopes.
    assert.equal(await page.getByRole('checkbox', { name: 'admin', exact: true }).count(), 0);
    await page.getByRole('checkbox', { name: 'analysis.read', exact: true }).check();
    await page.getByRole('button', { name: '创建令牌', exact: true }).click();
    const shown = page.getByRole('region', { name: '新令牌：' }).locator('code');
    await shown.waitFor();
    const token = (await shown.textContent()).trim();
    assert.match(token, /^sxt_[0-9a-f]+$/);
    const list = page.getByRole('table', { name: '我的 API 令牌' });
    await list.getByText('bi-export').waitFor();
    assert.match(await list.locator('tbody tr').first().textContent(), /analysis\.read.*600 次\/分钟/);

    const q = await srv.api('POST', `${base()}/query`, { type: 'events', last: '1d', unit: 'total', measures: [{ event: '$any', aggregator: 'count' }] }, { token });
    assert.equal(q.status, 200, q.text);
    const j = await srv.api('GET', `${base()}/journeys`, undefined, { token });
    assert.equal(j.status, 403, j.text);
    // The account's tokens (as the operator's session would list them): never the text.
    const sess = await srv.api('POST', '/api/v1/auth/login', { name: OPERATOR, password: PASSWORD }, { token: null });
    assert.equal(sess.status, 200, sess.text);
    const mine = await api('GET', '/api/v1/auth/tokens', undefined, { token: sess.body.token });
    assert.equal(mine.tokens.length, 1);
    assert.deepEqual(mine.tokens[0].scopes, ['analysis.read']);
    assert.equal(mine.tokens[0].rate_per_minute, 600);
    assert.ok(!JSON.stringify(mine).includes(token), 'the token text is not listed');
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('admin: classifies vip_note as secret personal data', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await c.signInWithToken(srv.token);
    await pickProject(page);
    await nav(page, '设置').click();
    await page.getByRole('link', { name: '用户与角色 →' }).waitFor();
    await page.getByRole('tab', { name: '个人信息' }).click();
    const table = page.getByRole('table', { name: '已分级字段' });
    await table.getByRole('cell', { name: 'mobile', exact: true }).waitFor();
    await page.getByLabel('字段', { exact: true }).fill('vip_note');
    await page.getByLabel('类别', { exact: true }).selectOption('secret');
    await page.getByRole('button', { name: '添加字段', exact: true }).click();
    await page.getByText('vip_note 已分级为“机密（完全遮盖）”。').waitFor();
    const row = table.locator('tr', { has: page.getByRole('cell', { name: 'vip_note', exact: true }) });
    await row.waitFor();
    assert.match(await row.textContent(), /机密.*本项目/);
    const pii = await api('GET', `${base()}/pii`);
    assert.equal(pii.fields.vip_note, 'secret');
    assert.equal(pii.effective.vip_note, 'secret');
    assert.equal(pii.effective.mobile, 'phone', 'the defaults stay');
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('wall screen: events today as ingested, and a new event in the live ticker', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await c.signInWithPassword(OPERATOR, PASSWORD);
    await nav(page, '数字大屏').waitFor();
    // A bookmarked screen: project and metrics from the URL.
    await page.goto(`${srv.url}/wall?project=${encodeURIComponent(project)}&m=events,users`);
    await page.getByRole('heading', { name: '数字大屏', level: 1 }).waitFor();
    const events = page.getByRole('group', { name: '今日事件数', exact: true }).locator('[data-value]');
    await waitFor(async () => (await events.getAttribute('data-value')) === String(EVENTS_TODAY), 15000, 200);
    const users = page.getByRole('group', { name: '今日活跃客户', exact: true }).locator('[data-value]');
    await waitFor(async () => (await users.getAttribute('data-value')) === '3', 15000, 200);
    // Only the chosen metrics are shown.
    assert.equal(await page.getByRole('group', { name: '今日触达发送', exact: true }).count(), 0);

    // The ticker polls every 2 s; its first read starts the server's stream, so an event sent
    // before it may be missed: send one every 2.5 s until it shows.
    const ticker = page.getByRole('complementary', { name: '实时事件' });
    await ticker.waitFor();
    let seen = false;
    for (let i = 0; i < 8 && !seen; i++) {
      await ingest([{ type: 'track', event: 'WallPing', distinct_id: `ping${i}`, time: Date.now(), _track_id: ++trackId, properties: {} }]);
      const deadline = Date.now() + 2500;
      while (Date.now() < deadline && !seen) {
        seen = (await ticker.getByText('WallPing', { exact: true }).count()) > 0;
        if (!seen) await sleep(200);
      }
    }
    assert.ok(seen, 'the new event appears in the ticker');
    // The choice stays in the URL (bookmarkable).
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('project'), project);
    assert.equal(url.searchParams.get('m'), 'events,users');
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
  }
});
