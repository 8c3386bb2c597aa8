'use strict';
// End-to-end: the console's whole story, in order, in one headless Chromium (one browser, a
// context for the console and one per customer's app), against the real server on the simulated
// clock. A bank's fund app (e2e/pages/fund_app.html, served by a tiny loopback HTTP server, so
// the collector is another origin) runs the real sa-sdk-javascript:
//   1. three customers use the app (c_123 views two funds and subscribes one); the operator
//      (an account made with POST /admin/accounts) signs in and looks c_123 up: those events;
//   2. builds the funnel view_fund_detail → subscribe_fund: the numbers the app sent;
//   3. builds a segment (city = 上海 AND aum ≥ 100000) in the rule builder: its live size;
//   4. draws a journey on the canvas — breakpoint entry (view_fund_detail not followed by
//      subscribe_fund within 1 minute) → wait for app_open (1 day, else exit) → in-app message
//      (channel and approved template set up through the API) → goal — submits it; an approver
//      approves it; the operator starts it;
//   5. c_123 views a fund in the app and does not subscribe; the clock passes the breakpoint
//      window; the app is opened again (app_open) and pulls its in-app messages: the popup shows
//      the template's text in the app page, and the node counts move on the canvas;
//   6. switches the console to English: the labels change.
// A screenshot of every page visited is written to os.tmpdir()/sextant-console-screens-<pid>/
// (printed at the end; never in the repository). Skips (with the reason) when the console has
// not been built (cd web && npm ci && npm run build).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { skipReason, CONSOLE_DIR, CHROMIUM } = require('../lib/console');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console scenario e2e skipped: ${SKIP}\n`);

const SDK_JS = path.join(path.dirname(require.resolve('sa-sdk-javascript/package.json')), 'dist', 'web', 'sensorsdata.js');
const APP_HTML = path.join(__dirname, 'pages', 'fund_app.html');
const SCREENS = path.join(os.tmpdir(), `sextant-console-screens-${process.pid}`);
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
  '--disable-component-update', '--disable-sync', '--disable-quic'];
const OPERATOR = { name: 'olga', password: 'operator password 1' };
const APPROVER = { name: 'abe', password: 'approver password 1' };
const APP_TOKEN = 'fund-app-token';
const CHANNEL = 'app_popup';
const TEMPLATE = { name: 'fund_nudge', subject: '基金申购提醒', body: '{{profile.name}}，您浏览的基金还在等您，现在申购享费率一折' };
const POPUP_TEXT = '张三，您浏览的基金还在等您，现在申购享费率一折';
const BREAK_WINDOW_S = 60;

// What the app sends before the journey exists (and what the console must show for it).
const CUSTOMERS = [
  { id: 'c_100', profile: { name: '李四', city: '北京', aum: 80000 },
    events: [['view_fund_detail', { fund_id: 'F001' }], ['subscribe_fund', { fund_id: 'F001', amount: 10000 }]] },
  { id: 'c_101', profile: { name: '王五', city: '上海', aum: 300000 },
    events: [['view_fund_detail', { fund_id: 'F002' }]] },
  { id: 'c_123', profile: { name: '张三', city: '上海', aum: 520000 },
    events: [['view_fund_detail', { fund_id: 'F001' }], ['view_fund_detail', { fund_id: 'F002' }],
      ['subscribe_fund', { fund_id: 'F002', amount: 50000 }]] },
];
const did = (c, e) => c.events.some(([name]) => name === e);
const FUNNEL = {
  viewed: CUSTOMERS.filter((c) => did(c, 'view_fund_detail')).length,
  subscribed: CUSTOMERS.filter((c) => did(c, 'view_fund_detail') && did(c, 'subscribe_fund')).length,
};
const SEGMENT_SIZE = CUSTOMERS.filter((c) => c.profile.city === '上海' && c.profile.aum >= 100000).length;

const base = (p) => `/api/v1/projects/${encodeURIComponent(p)}`;
const as = (operator) => ({ headers: { 'X-Sextant-Operator': operator } });
let srv;
let project;
let appServer;
let appUrl;
let browser;
const screens = [];

async function api(method, p, body, opts) {
  const r = await srv.api(method, p, body, opts);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.body;
}

// The app: the page and the SDK bundle, on loopback.
function startAppServer() {
  const html = fs.readFileSync(APP_HTML);
  const sdk = fs.readFileSync(SDK_JS);
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/' || u.pathname === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (u.pathname === '/sensorsdata.js') {
      res.writeHead(200, { 'Content-Type': 'application/javascript' });
      res.end(sdk);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  if (SKIP) return;
  // The simulated clock starts at the wall clock, so the SDK's event times and "last 7 days" in
  // the console agree with the server's; only POST /admin/clock moves it (the breakpoint window).
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR, '--clock', 'simulated', '--clock-start-ms', String(Date.now())] });
  project = uniqueName('scenario');
  await api('POST', '/api/v1/projects', { name: project, token: APP_TOKEN, time_zone: 'Asia/Shanghai' });
  // The in-app channel and an approved template (maker-checker through the admin token's
  // operators, as the journey suites do).
  await api('PUT', '/api/v1/admin/operators', { alice: ['maker'], bob: ['approver'] });
  await api('PUT', `${base(project)}/channels/${CHANNEL}`, { type: 'inapp' });
  await api('PUT', `${base(project)}/templates/${TEMPLATE.name}`, { channel: CHANNEL, subject: TEMPLATE.subject, body: TEMPLATE.body }, as('alice'));
  await api('POST', `${base(project)}/templates/${TEMPLATE.name}/approve`, undefined, as('bob'));
  for (const [who, role] of [[OPERATOR, 'operator'], [APPROVER, 'approver']]) {
    const r = await srv.api('POST', '/api/v1/admin/accounts', { name: who.name, password: who.password, roles: [role], projects: [project] });
    assert.equal(r.status, 201, r.text);
  }
  appServer = await startAppServer();
  appUrl = `http://127.0.0.1:${appServer.address().port}/index.html`;
  fs.mkdirSync(SCREENS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (appServer) await new Promise((resolve) => appServer.close(resolve));
  if (srv) await srv.stop();
  if (screens.length) process.stderr.write(`# console scenario screenshots (${screens.length}): ${SCREENS}\n`);
});

async function shot(page, name) {
  const file = path.join(SCREENS, `${String(screens.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  screens.push(file);
}

// A customer's app in its own context (own cookies: own SDK anonymous id), signed in.
async function openApp(customer) {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(appUrl);
  await page.waitForFunction(() => typeof window.sensorsDataAnalytic201505 === 'object' && !!window.app);
  await page.evaluate((c) => window.app.start(c), { server: srv.url, project, token: APP_TOKEN, distinctId: customer.id, profile: customer.profile });
  return { context, page, errors };
}

// The customer's events of one name, stored.
async function storedCount(id, event) {
  const r = await srv.events(project, id, 1000);
  if (r.status !== 200) return -1;
  return r.body.events.filter((e) => e.event === event).length;
}

async function signIn(page, who) {
  await page.getByLabel('账号', { exact: true }).fill(who.name);
  await page.getByLabel('密码', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.getByText(who.name, { exact: true }).waitFor();
  await waitFor(async () => (await page.getByLabel('项目', { exact: true }).inputValue()) === project, 10000, 100);
}
async function signOut(page) {
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.waitForURL(`${srv.url}/login`);
}

const nav = (page, name) => page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name, exact: true });
// The canvas node of a step: React Flow renders it as a group named "<type> <id>".
const node = (page, label) => page.getByRole('group', { name: label, exact: true });
const badge = (page) => page.locator('.jn-title-row .badge').first();
const count = (nodeLoc, key) => nodeLoc.locator(`.jn-count-${key} dd`);

test('console scenario: SDK customer → lookup → funnel → segment → journey drawn, approved, started, triggered → in-app popup → English', { skip: SKIP || false, timeout: 180000 }, async () => {
  const t0 = Date.now();
  const consoleContext = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await consoleContext.newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`); });
  let app;
  try {
    // ---- 1. The app sends; the operator looks the customer up ----
    for (const customer of CUSTOMERS) {
      const a = await openApp(customer);
      await a.page.evaluate((events) => window.app.track(events), customer.events);
      for (const [event] of customer.events) {
        const want = customer.events.filter(([e]) => e === event).length;
        await waitFor(async () => (await storedCount(customer.id, event)) === want, 15000, 100);
      }
      assert.deepEqual(a.errors, [], `app page errors for ${customer.id}`);
      if (customer.id === 'c_123') {
        app = a;
        await shot(a.page, 'app-c_123');
      } else {
        await a.context.close();
      }
    }
    // The profile set by the SDK is there too (the segment needs it).
    await waitFor(async () => {
      const u = await srv.user(project, 'c_123');
      return u.status === 200 && u.body.profile.city === '上海' && u.body.profile.aum === 520000;
    }, 10000, 100);

    await page.goto(`${srv.url}/`);
    await page.waitForURL(`${srv.url}/login`);
    await shot(page, 'login');
    await signIn(page, OPERATOR);
    await shot(page, 'overview');
    await nav(page, '用户查询').click();
    await page.getByLabel('distinct_id 或身份标识值', { exact: true }).fill('c_123');
    await page.getByRole('button', { name: '查询', exact: true }).click();
    await page.waitForURL(`${srv.url}/users/c_123`);
    const timeline = page.getByRole('list', { name: '事件时间线' });
    const c123 = CUSTOMERS.find((c) => c.id === 'c_123');
    await waitFor(async () => {
      const lines = await timeline.locator('summary').allTextContents();
      assert.equal(lines.filter((l) => l.includes('view_fund_detail')).length, 2, lines.join('\n'));
      assert.equal(lines.filter((l) => l.includes('subscribe_fund')).length, 1, lines.join('\n'));
      return true;
    }, 10000, 100);
    const lines = await timeline.locator('summary').allTextContents();
    assert.ok(lines.some((l) => l.includes('subscribe_fund') && l.includes('amount=50000')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('view_fund_detail') && l.includes('fund_id=F001')), lines.join('\n'));
    assert.equal(c123.events.length, 3);
    // The login id is one of the customer's identities.
    await page.getByRole('table', { name: '身份标识', exact: true }).getByRole('cell', { name: 'c_123', exact: true }).first().waitFor();
    await shot(page, 'user-lookup');

    // ---- 2. Funnel view_fund_detail → subscribe_fund ----
    await nav(page, '分析').click();
    await page.waitForURL(`${srv.url}/analysis/events`);
    await page.getByRole('link', { name: '漏斗分析', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/funnel`);
    await page.getByLabel('步骤 1', { exact: true }).selectOption('view_fund_detail');
    await page.getByLabel('步骤 2', { exact: true }).selectOption('subscribe_fund');
    await page.getByLabel('时间范围', { exact: true }).selectOption('7d');
    await page.getByRole('button', { name: '开始分析', exact: true }).click();
    const funnel = page.getByRole('table', { name: '漏斗步骤' });
    await funnel.waitFor();
    const rows = await funnel.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
    assert.equal(rows.length, 2, JSON.stringify(rows));
    assert.equal(rows[0][1], String(FUNNEL.viewed), `step 1 users: ${JSON.stringify(rows)}`);
    assert.equal(rows[1][1], String(FUNNEL.subscribed), `step 2 users: ${JSON.stringify(rows)}`);
    assert.equal(rows[0][4], String(FUNNEL.viewed - FUNNEL.subscribed), `lost after step 1: ${JSON.stringify(rows)}`);
    assert.equal(rows[1][3], `${(100 * FUNNEL.subscribed / FUNNEL.viewed).toFixed(1)}%`, `overall conversion: ${JSON.stringify(rows)}`);
    await shot(page, 'funnel');

    // ---- 3. Segment in the rule builder, with its live size ----
    await nav(page, '客群').click();
    await page.getByRole('heading', { name: '客群', level: 1 }).waitFor();
    await page.getByRole('link', { name: '新建客群' }).click();
    await page.getByLabel('客群名称', { exact: true }).fill('上海高净值基金客户');
    const add = page.getByRole('group', { name: '规则 · 添加', exact: true });
    await add.getByRole('button', { name: '+ 用户属性', exact: true }).click();
    await page.getByLabel('条件 1 · 属性', { exact: true }).selectOption('city');
    await page.getByLabel('条件 1 · 运算符', { exact: true }).selectOption('=');
    await page.getByLabel('条件 1 · 值', { exact: true }).fill('上海');
    await add.getByRole('button', { name: '+ 用户属性', exact: true }).click();
    await page.getByLabel('条件 2 · 属性', { exact: true }).selectOption('aum');
    await page.getByLabel('条件 2 · 运算符', { exact: true }).selectOption('>=');
    await page.getByLabel('条件 2 · 值', { exact: true }).fill('100000');
    const estimate = page.getByRole('status', { name: '预估人数' });
    await waitFor(async () => {
      assert.equal(await estimate.getAttribute('aria-busy'), 'false');
      assert.equal(await estimate.locator('[data-size]').getAttribute('data-size'), String(SEGMENT_SIZE));
      return true;
    }, 10000, 100);
    assert.match(await estimate.textContent(), new RegExp(`${SEGMENT_SIZE} 人`));
    await shot(page, 'segment-builder');
    await page.getByRole('button', { name: '创建客群', exact: true }).click();
    await page.waitForURL(/\/segments\/\d+$/);
    const members = page.getByRole('table', { name: '成员' });
    await waitFor(async () => {
      const ids = (await members.locator('tbody tr td:first-child').allTextContents()).sort();
      assert.deepEqual(ids, CUSTOMERS.filter((c) => c.profile.city === '上海' && c.profile.aum >= 100000).map((c) => c.id).sort());
      return true;
    }, 10000, 100);
    await shot(page, 'segment');

    // ---- 4. The journey, drawn on the canvas ----
    await nav(page, '旅程策略').click();
    await page.waitForURL(`${srv.url}/journeys`);
    await page.getByRole('link', { name: '新建旅程' }).click();
    await page.waitForURL(`${srv.url}/journeys/new`);
    await page.getByLabel('旅程名称', { exact: true }).fill('基金申购中断挽回');
    const side = page.getByRole('complementary', { name: '步骤设置' });
    // Entry (selected first): a process that breaks off.
    await side.getByLabel('客户进入的时机', { exact: true }).selectOption('breakpoint');
    await side.getByLabel('流程开始事件', { exact: true }).fill('view_fund_detail');
    await side.getByLabel('且随后未发生', { exact: true }).fill('subscribe_fund');
    const waitField = side.locator('.jn-duration').filter({ hasText: '等待多久后进入' });
    await waitField.getByLabel('等待多久后进入', { exact: true }).fill(String(BREAK_WINDOW_S / 60));
    await waitField.getByLabel('单位', { exact: true }).selectOption('m');
    await node(page, '进入条件：流程中断').waitFor();
    // Palette: a wait (attached to the entry), set to wait for the app to be opened again.
    await page.getByRole('button', { name: '添加步骤：等待' }).click();
    const wait = node(page, '等待 wait_1');
    await wait.waitFor();
    await side.getByLabel('等待方式', { exact: true }).selectOption('event');
    await side.getByLabel('事件', { exact: true }).fill('app_open');
    await side.locator('.jn-duration').filter({ hasText: '最长等待' }).getByLabel('最长等待', { exact: true }).fill('1');
    // A send on the wait's "event came" exit, then a goal after it.
    await page.getByRole('button', { name: '添加步骤：发送消息' }).click();
    const send = node(page, '发送消息 send_1');
    await send.waitFor();
    await side.getByLabel('渠道', { exact: true }).selectOption(CHANNEL);
    await side.getByLabel('模板', { exact: true }).selectOption(TEMPLATE.name);
    await side.getByText(`${CHANNEL}：已有审批通过的版本`).waitFor();
    await page.getByRole('button', { name: '添加步骤：达成目标' }).click();
    const goal = node(page, '达成目标 goal_1');
    await goal.waitFor();
    // Back to the wait: an exit on its free "timed out" exit. (Adding steps panned the canvas
    // so that the wait lies under the navigation: fit the journey on screen first.)
    await page.getByRole('button', { name: '适应屏幕' }).click();
    await wait.click();
    await side.getByLabel('等待方式', { exact: true }).waitFor();
    await page.getByRole('button', { name: '添加步骤：离开旅程' }).click();
    await node(page, '离开旅程 exit_1').waitFor();
    // Four connections: entry → wait_1 → (event) send_1 → goal_1; wait_1 → (timeout) exit_1.
    assert.equal(await page.locator('.react-flow__edge').count(), 4);
    await page.getByText('没有缺项：旅程可以保存并提交审批。').waitFor();
    await shot(page, 'journey-drawn');
    await page.getByRole('button', { name: '保存旅程' }).click();
    await page.waitForURL(/\/journeys\/j\d+$/);
    const journeyUrl = page.url();
    const id = journeyUrl.split('/').pop();
    await page.getByText('已保存（版本 1）。').waitFor();
    const stored = await api('GET', `${base(project)}/journeys/${id}`);
    assert.deepEqual(stored.definition.entry, { type: 'breakpoint', event: 'view_fund_detail', not_followed_by: 'subscribe_fund', wait: '1m' });
    assert.equal(stored.definition.start, 'wait_1');
    assert.deepEqual(stored.definition.nodes, {
      wait_1: { type: 'wait', event: 'app_open', timeout: '1d', next: 'send_1', timeout_next: 'exit_1' },
      send_1: { type: 'send', channel: CHANNEL, template: TEMPLATE.name, next: 'goal_1' },
      goal_1: { type: 'goal' },
      exit_1: { type: 'exit' },
    });
    await page.getByRole('button', { name: '提交审批' }).click();
    await page.getByText('已提交审批。').first().waitFor();
    assert.equal(await badge(page).textContent(), '待审批');
    assert.equal(await page.getByRole('button', { name: '审批通过' }).count(), 0, 'the operator has no approve button');

    // The approver approves.
    await signOut(page);
    await signIn(page, APPROVER);
    await page.goto(journeyUrl);
    await page.getByRole('button', { name: '审批通过' }).click();
    const dialog = page.getByRole('dialog', { name: '审批通过此旅程？' });
    await dialog.getByLabel('意见').fill('断点与文案已核对，同意');
    await shot(page, 'journey-approve');
    await dialog.getByRole('button', { name: '审批通过' }).click();
    await page.getByText('已审批通过，运营人员现在可以启动它。').waitFor();
    assert.equal(await badge(page).textContent(), '已审批');

    // The operator starts it.
    await signOut(page);
    await signIn(page, OPERATOR);
    await page.goto(journeyUrl);
    await page.getByRole('button', { name: '启动', exact: true }).click();
    await page.getByText('已启动：客户现在会进入该旅程。').waitFor();
    assert.equal(await badge(page).textContent(), '运行中');
    const stateNow = await api('GET', `${base(project)}/journeys/${id}`);
    assert.equal(stateNow.created_by, OPERATOR.name);
    assert.equal(stateNow.submitted_by, OPERATOR.name);
    const live = page.getByRole('status', { name: '实时数据' });
    await live.getByText('进入人次 0').waitFor({ timeout: 15000 });
    await shot(page, 'journey-running');

    // ---- 5. Triggered from the app: the popup, the counts ----
    // c_123 looks at a fund again and does not subscribe.
    await app.page.evaluate(() => window.app.track([['view_fund_detail', { fund_id: 'F003' }]]));
    await waitFor(async () => (await storedCount('c_123', 'view_fund_detail')) === 3, 15000, 100);
    // The breakpoint has started: the customer is pending, not yet inside.
    await waitFor(async () => {
      const r = await api('GET', `${base(project)}/journeys/${id}/customers/c_123`);
      assert.equal(r.state, 'pending', JSON.stringify(r));
      return true;
    }, 10000, 100);
    assert.equal((await api('GET', `${base(project)}/journeys/${id}/report`)).entered, 0);
    // The window passes without subscribe_fund: the customer enters and waits for app_open.
    await api('POST', '/api/v1/admin/clock', { advance_seconds: BREAK_WINDOW_S + 30 });
    await waitFor(async () => {
      const r = await api('GET', `${base(project)}/journeys/${id}/customers/c_123`);
      assert.equal(r.node, 'wait_1', JSON.stringify(r));
      return true;
    }, 10000, 100);
    // The canvas shows the customer in the wait.
    await waitFor(async () => {
      assert.equal(await count(wait, 'entered').textContent({ timeout: 500 }), '1');
      assert.equal(await count(wait, 'waiting').textContent({ timeout: 500 }), '1');
      return true;
    }, 20000, 250);
    await live.getByText('进入人次 1').waitFor();

    // The app is opened again: it tracks app_open and pulls its in-app messages.
    await app.page.evaluate(() => window.app.track([['app_open', {}]]));
    await app.page.evaluate(() => window.app.startInApp(1000));
    const popup = app.page.getByRole('dialog', { name: TEMPLATE.subject });
    await popup.waitFor({ timeout: 20000 });
    assert.equal((await popup.locator('p').textContent()).trim(), POPUP_TEXT);
    await shot(app.page, 'app-popup');
    const shown = await app.page.evaluate(() => window.app.shown.map((m) => ({ id: m.message_id, journey: m.journey_id })));
    assert.equal(shown.length, 1, JSON.stringify(shown));
    assert.equal(shown[0].journey, id);
    // Handed out once: later pulls bring nothing new.
    const pullsAt = await app.page.evaluate(() => window.app.pulls);
    await waitFor(async () => (await app.page.evaluate(() => window.app.pulls)) >= pullsAt + 2, 10000, 200);
    assert.equal(await app.page.getByRole('dialog').count(), 1);
    assert.deepEqual(await app.page.evaluate(() => window.app.pullErrors), []);
    await app.page.evaluate(() => window.app.stopInApp());
    // The pull counted the message delivered, and the app's display report reached the server.
    await waitFor(async () => {
      const r = await srv.events(project, 'c_123', 1000);
      const byName = (n) => r.body.events.filter((e) => e.event === n);
      assert.deepEqual(byName('$touch_delivered').map((e) => e.properties.touch_id), [shown[0].id], r.text.slice(0, 3000));
      assert.deepEqual(byName('$inapp_shown').map((e) => e.properties.touch_id), [shown[0].id], r.text.slice(0, 3000));
      return true;
    }, 10000, 200);

    // The canvas: the wait saw the event, the message was sent (and delivered by the pull), the
    // goal was reached.
    await waitFor(async () => {
      assert.equal(await count(wait, 'event').textContent({ timeout: 500 }), '1');
      assert.equal(await count(send, 'entered').textContent({ timeout: 500 }), '1');
      assert.equal(await count(send, 'sent').textContent({ timeout: 500 }), '1');
      assert.equal(await count(send, 'delivered').textContent({ timeout: 500 }), '1');
      assert.equal(await count(goal, 'entered').textContent({ timeout: 500 }), '1');
      return true;
    }, 20000, 250);
    await live.getByText('达成目标 1').waitFor();
    await shot(page, 'journey-counts');

    // ---- 6. English ----
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    await node(page, 'Send message send_1').waitFor();
    assert.equal(await node(page, '发送消息 send_1').count(), 0);
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Journeys', exact: true }).waitFor();
    assert.equal(await page.getByRole('status', { name: 'Live numbers' }).getByText('Entered 1').count(), 1);
    assert.equal(await badge(page).textContent(), 'Running');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await shot(page, 'journey-english');

    assert.deepEqual(consoleErrors.filter((e) => !/status of 40[0-9]/.test(e)), [], 'no console page errors');
    assert.deepEqual(app.errors, [], 'no app page errors');
    const ingestErrors = await srv.ingestErrors(project);
    assert.deepEqual(ingestErrors.body.errors, [], `ingest errors: ${ingestErrors.text.slice(0, 2000)}`);
    process.stderr.write(`# console scenario took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } finally {
    if (app) await app.context.close().catch(() => {});
    await consoleContext.close().catch(() => {});
  }
});
