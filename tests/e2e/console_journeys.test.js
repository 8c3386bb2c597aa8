'use strict';
// End-to-end: the Journeys area of the web console (web/dist) in headless Chromium, against the
// real server. An operator builds a journey on the canvas with the palette and the side panel
// (event entry → send on a webhook channel with an approved template → exit), saves it with a
// required field missing and sees the server's validation error on the node, fixes it and
// submits; an approver approves it (the operator has no approve button, and the server refuses a
// self-approval); the operator starts it. A customer's event, ingested through the API, makes the
// journey deliver to a loopback receiver, and the canvas shows the count on the send node. A dry
// run for another customer shows the path taken. Skips (with the reason) when the console has
// not been built (cd web && npm ci && npm run build).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { startHttpReceiver } = require('../lib/receivers');
const { openConsole, skipReason, CONSOLE_DIR } = require('../lib/console');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console journeys e2e skipped: ${SKIP}\n`);

const SECRET = 'console-journeys-secret';
const OPERATOR = { name: 'olga', password: 'operator password 1' };
const APPROVER = { name: 'abe', password: 'approver password 1' };
const base = (p) => `/api/v1/projects/${encodeURIComponent(p)}`;
let srv;
let receiver;
let project;

before(async () => {
  if (SKIP) return;
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR] });
  receiver = await startHttpReceiver({ secret: SECRET });
  project = uniqueName('cj');
  let r = await srv.api('POST', '/api/v1/projects', { name: project, time_zone: 'Asia/Shanghai' });
  assert.equal(r.status, 201, r.text);
  // A webhook channel to the loopback receiver, and an approved template (maker-checker through
  // the admin token's named operators, as the black-box suites do).
  r = await srv.api('PUT', `${base(project)}/channels/hook`, { type: 'webhook', url: `${receiver.url}/${project}`, secret: SECRET });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('PUT', '/api/v1/admin/operators', { alice: ['maker'], bob: ['approver'] });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('PUT', `${base(project)}/templates/hello`, { channel: 'hook', body: 'Hello {{profile.name}}' }, { headers: { 'X-Sextant-Operator': 'alice' } });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base(project)}/templates/hello/approve`, undefined, { headers: { 'X-Sextant-Operator': 'bob' } });
  assert.equal(r.status, 200, r.text);
  // The two people of maker-checker, each limited to the project.
  for (const [who, role] of [[OPERATOR, 'operator'], [APPROVER, 'approver']]) {
    r = await srv.api('POST', '/api/v1/admin/accounts', { name: who.name, password: who.password, roles: [role], projects: [project] });
    assert.equal(r.status, 201, r.text);
  }
  // Two customers with a name for the template.
  r = await srv.records(project, [
    { type: 'profile_set', distinct_id: 'u1', properties: { name: '张三' }, _track_id: 1 },
    { type: 'profile_set', distinct_id: 'u2', properties: { name: '李四' }, _track_id: 2 },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, 2, r.text);
});

after(async () => {
  if (receiver) await receiver.close();
  if (srv) await srv.stop();
});

// Signs in with name and password (the page is in Chinese, the default).
async function signIn(c, who) {
  const { page } = c;
  await page.getByLabel('账号', { exact: true }).fill(who.name);
  await page.getByLabel('密码', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  // Back where the session ended, or the overview.
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.getByText(who.name, { exact: true }).waitFor();
}

async function signOut(c) {
  await c.page.getByRole('button', { name: '退出登录' }).click();
  await c.page.waitForURL(`${srv.url}/login`);
}

// The canvas node of a step: React Flow renders it as a group named "<type> <id>".
const node = (page, label) => page.getByRole('group', { name: label, exact: true });
const badge = (page) => page.locator('.jn-title-row .badge').first();

test('journeys: build on the canvas, validation on the node, submit, approve, start, live count, dry run', { skip: SKIP || false, timeout: 120000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    // ---- The operator builds the journey ----
    await signIn(c, OPERATOR);
    await page.getByRole('link', { name: '旅程策略', exact: true }).click();
    await page.waitForURL(`${srv.url}/journeys`);
    await page.getByText('还没有旅程').waitFor();
    await page.getByRole('link', { name: '新建旅程' }).click();
    await page.waitForURL(`${srv.url}/journeys/new`);

    await page.getByLabel('旅程名称', { exact: true }).fill('大额入金欢迎');
    // The entry is selected first: an event entry on "deposit".
    const side = page.getByRole('complementary', { name: '步骤设置' });
    assert.equal(await side.getByLabel('客户进入的时机').inputValue(), 'event');
    await side.getByLabel('事件', { exact: true }).fill('deposit');
    await node(page, '进入条件：发生某个事件').getByText('发生某个事件: deposit').waitFor();

    // Palette: a send step (attached to the entry as the first step), then an exit after it.
    await page.getByRole('button', { name: '添加步骤：发送消息' }).click();
    const send = node(page, '发送消息 send_1');
    await send.waitFor();
    await side.getByLabel('渠道', { exact: true }).selectOption('hook');
    await page.getByRole('button', { name: '添加步骤：离开旅程' }).click();
    await node(page, '离开旅程 exit_1').waitFor();
    // Two connections drawn: entry → send_1 → exit_1.
    assert.equal(await page.locator('.react-flow__edge').count(), 2);
    // The editor already lists what is missing; the server has the last word on save.
    await page.getByText('请选择模板。').first().waitFor();

    await page.getByRole('button', { name: '保存旅程' }).click();
    // The server refuses it (3007, field nodes.send_1.template): the error is on the node.
    const nodeError = send.locator('.jn-node-errors');
    await nodeError.waitFor();
    assert.match(await nodeError.textContent(), /nodes\.send_1\.template/);
    assert.match(await send.locator('.jn-node').getAttribute('class'), /jn-has-error/);
    assert.match(await page.getByRole('alert').filter({ hasText: 'nodes.send_1.template' }).first().textContent(), /required/);
    assert.equal(page.url(), `${srv.url}/journeys/new`, 'nothing was created');
    // The editor's words follow the language switch, the server's error on the node included.
    assert.match(await nodeError.textContent(), /^服务器校验未通过/);
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    // (The node's accessible name is in English now too.)
    await page.locator('.react-flow__node[data-id="send_1"] .jn-node-errors').getByText(/^Refused by the server — nodes\.send_1\.template/).waitFor();
    await page.getByText('Choose a template.').first().waitFor();
    await page.getByLabel('Language', { exact: true }).selectOption('zh-CN');
    await nodeError.getByText(/^服务器校验未通过/).waitFor();

    // Fix it: the send step is selected; choose the template, see its text, save.
    await side.getByLabel('模板', { exact: true }).selectOption('hello');
    await side.getByText('hook：已有审批通过的版本').waitFor();
    await side.getByText('Hello {{profile.name}}').waitFor();
    assert.equal(await send.locator('.jn-node-errors').count(), 0, 'the error goes once the node changes');
    await page.getByText('没有缺项：旅程可以保存并提交审批。').waitFor();
    await page.getByRole('button', { name: '保存旅程' }).click();
    await page.waitForURL(/\/journeys\/j\d+$/);
    const journeyUrl = page.url();
    const id = journeyUrl.split('/').pop();
    await page.getByText('已保存（版本 1）。').waitFor();
    // So does the notice (kept as a message key, not as the words of the moment).
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    await page.getByText('Saved (version 1).').waitFor();
    await page.getByLabel('Language', { exact: true }).selectOption('zh-CN');
    await page.getByText('已保存（版本 1）。').waitFor();
    await page.getByRole('button', { name: '提交审批' }).click();
    await page.getByText('已提交审批。').first().waitFor();
    assert.equal(await badge(page).textContent(), '待审批');
    // An operator cannot approve: no button.
    assert.equal(await page.getByRole('button', { name: '审批通过' }).count(), 0);

    // The definition is what the canvas shows (positions kept in "layout").
    const stored = await srv.api('GET', `${base(project)}/journeys/${id}`);
    assert.equal(stored.body.created_by, OPERATOR.name);
    assert.equal(stored.body.submitted_by, OPERATOR.name);
    assert.deepEqual(stored.body.definition.entry, { type: 'event', event: 'deposit' });
    assert.equal(stored.body.definition.start, 'send_1');
    assert.deepEqual(stored.body.definition.nodes, {
      send_1: { type: 'send', channel: 'hook', template: 'hello', next: 'exit_1' },
      exit_1: { type: 'exit' },
    });
    assert.ok(stored.body.definition.layout.nodes.send_1, JSON.stringify(stored.body.definition));

    // Maker-checker at the server: the submitter's own session cannot approve (403).
    const operatorToken = await page.evaluate(() => sessionStorage.getItem('sextant.token'));
    const self = await srv.api('POST', `${base(project)}/journeys/${id}/approve`, undefined, { token: operatorToken });
    assert.equal(self.status, 403, self.text);

    // ---- The approver approves ----
    await signOut(c);
    await signIn(c, APPROVER);
    await page.goto(journeyUrl);
    await page.getByRole('button', { name: '审批通过' }).click();
    const dialog = page.getByRole('dialog', { name: '审批通过此旅程？' });
    await dialog.getByLabel('意见').fill('看过试运行，同意');
    await dialog.getByRole('button', { name: '审批通过' }).click();
    await page.getByText('已审批通过，运营人员现在可以启动它。').waitFor();
    assert.equal(await badge(page).textContent(), '已审批');
    // An approver cannot start or edit.
    assert.equal(await page.getByRole('button', { name: '启动' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: '添加步骤：发送消息' }).isDisabled(), true);

    // ---- The operator starts it ----
    await signOut(c);
    await signIn(c, OPERATOR);
    await page.goto(journeyUrl);
    await page.getByRole('button', { name: '启动', exact: true }).click();
    await page.getByText('已启动：客户现在会进入该旅程。').waitFor();
    assert.equal(await badge(page).textContent(), '运行中');

    // A customer deposits: the message goes to the receiver, signed, rendered for them.
    const ing = await srv.records(project, [{ type: 'track', event: 'deposit', distinct_id: 'u1', properties: { amount: 200000 }, _track_id: 3 }]);
    assert.equal(ing.status, 200, ing.text);
    await receiver.waitForRequests(1, 15000);
    const got = receiver.requests.filter((r) => r.path === `/${project}`);
    assert.equal(got.length, 1);
    assert.equal(got[0].signatureValid, true);
    assert.equal(got[0].json.text, 'Hello 张三');
    assert.equal(got[0].json.node, 'send_1');

    // The canvas draws the live counts on the nodes (the report is refreshed every few seconds).
    await waitFor(async () => {
      assert.equal(await send.locator('.jn-count-sent dd').textContent({ timeout: 500 }), '1');
      assert.equal(await send.locator('.jn-count-entered dd').textContent({ timeout: 500 }), '1');
      return true;
    }, 20000, 250);
    await page.getByRole('status', { name: '实时数据' }).getByText('进入人次 1').waitFor();

    // ---- Dry run for another customer ----
    await page.getByRole('tab', { name: '试运行与回测' }).click();
    await page.getByLabel('客户（distinct ID）').fill('u2');
    assert.equal(await page.getByLabel('事件', { exact: true }).first().inputValue(), 'deposit', 'the entry event is filled in');
    await page.getByRole('button', { name: '开始试运行' }).click();
    const path = page.getByRole('list', { name: '经过的路径' });
    await path.waitFor();
    assert.deepEqual((await path.locator('li code').allTextContents()), ['send_1', 'exit_1']);
    const decisions = page.getByRole('table', { name: '触达决策' });
    await decisions.getByText('Hello 李四').waitFor();
    await decisions.getByText('将发送').waitFor();
    // Nothing was sent for the dry run.
    assert.equal(receiver.requests.filter((r) => r.path === `/${project}`).length, 1);

    // The effect report explains that there is no control group.
    await page.getByRole('tab', { name: '效果评估' }).click();
    await page.getByText('此旅程没有对照组').waitFor();

    assert.deepEqual(c.errors.filter((e) => !/status of 40[0-9]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('journeys: a step added from the palette lands in the visible part of the canvas', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await signIn(c, OPERATOR);
    // A short window, scrolled so that the top of the canvas is above it.
    await page.setViewportSize({ width: 1400, height: 450 });
    await page.goto(`${srv.url}/journeys/new`);
    const canvas = page.locator('.jn-canvas');
    await canvas.locator('.react-flow__node').first().waitFor();
    // Nothing selected: the new step is not attached to another one.
    await canvas.locator('.react-flow__pane').click({ position: { x: 15, y: 15 } });
    await page.evaluate(() => {
      const top = document.querySelector('.jn-canvas').getBoundingClientRect().top + window.scrollY;
      window.scrollTo(0, top + 420);
    });
    // The entry (where a step used to be put) is above the window now.
    const entry = await canvas.locator('.react-flow__node').first().boundingBox();
    assert.ok(entry.y + entry.height < 0, `the entry is above the window (${entry.y})`);
    // Clicked without scrolling the palette into view (what a user scrolled down would do with
    // the palette's own scroll position is not the point here).
    await page.getByRole('button', { name: '添加步骤：等待' }).dispatchEvent('click');
    const step = node(page, '等待 wait_1');
    await step.waitFor();
    await page.waitForTimeout(300); // the view may pan (200 ms)
    const box = await step.boundingBox();
    const area = await canvas.boundingBox();
    const win = page.viewportSize();
    assert.ok(box.y >= Math.max(area.y, 0) && box.y + box.height <= Math.min(area.y + area.height, win.height), `step at y ${box.y}..${box.y + box.height}, visible canvas ${Math.max(area.y, 0)}..${Math.min(area.y + area.height, win.height)}`);
    assert.ok(box.x >= area.x && box.x + box.width <= area.x + area.width, `step at x ${box.x}, canvas ${area.x}..${area.x + area.width}`);
    assert.deepEqual(c.errors.filter((e) => !/status of 40[0-9]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});

// A running journey with two customers waiting in different steps; a new version (without one of
// those steps) approved through the API. The operator publishes it in the console choosing
// "move": the customer whose step is in the new version moves to it, the other stays.
test('journeys: publish a new version with the move migration chosen in the publish dialog', { skip: SKIP || false, timeout: 60000 }, async () => {
  const as = (operator) => ({ headers: { 'X-Sextant-Operator': operator } });
  const v1 = { name: '迁移演示', entry: { type: 'event', event: 'ping' }, start: 'tier',
    nodes: {
      tier: { type: 'split', condition: { profile: 'tier', op: '=', value: 'gold' }, yes: 'w', no: 'x' },
      w: { type: 'wait', duration: '1h', next: 's' },
      x: { type: 'wait', duration: '1h', next: 's' },
      s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' },
      e: { type: 'exit' },
    } };
  const v2 = { name: '迁移演示', entry: { type: 'event', event: 'ping' }, start: 'w',
    nodes: { w: { type: 'wait', duration: '2h', next: 's' }, s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } };
  let r = await srv.api('POST', `${base(project)}/journeys`, v1, as('alice'));
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  for (const [action, who] of [['submit', 'alice'], ['approve', 'bob'], ['start', 'alice']]) {
    r = await srv.api('POST', `${base(project)}/journeys/${id}/${action}`, undefined, as(who));
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
  r = await srv.records(project, [
    { type: 'profile_set', distinct_id: 'gold-1', properties: { tier: 'gold' }, _track_id: 501 },
    { type: 'profile_set', distinct_id: 'silver-1', properties: { tier: 'silver' }, _track_id: 502 },
    { type: 'track', event: 'ping', distinct_id: 'gold-1', time: Date.now(), _track_id: 503, properties: {} },
    { type: 'track', event: 'ping', distinct_id: 'silver-1', time: Date.now(), _track_id: 504, properties: {} },
  ]);
  assert.equal(r.body.accepted, 4, r.text);
  const inside = async (who) => (await srv.api('GET', `${base(project)}/journeys/${id}/customers/${who}`)).body;
  await waitFor(async () => (await inside('gold-1')).node === 'w' && (await inside('silver-1')).node === 'x', 10000, 100);
  r = await srv.api('PUT', `${base(project)}/journeys/${id}`, v2, as('alice'));
  assert.equal(r.status, 200, r.text);
  for (const [action, who] of [['submit', 'alice'], ['approve', 'bob']]) {
    r = await srv.api('POST', `${base(project)}/journeys/${id}/${action}`, undefined, as(who));
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }

  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await signIn(c, OPERATOR);
    await page.goto(`${srv.url}/journeys/${id}`);
    await page.getByRole('button', { name: '发布版本 2', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: '发布版本 2' }).waitFor();
    // "Stay" is the default; the operator chooses "move".
    assert.equal(await dialog.getByRole('radio', { name: /^留在原版本/ }).isChecked(), true);
    await dialog.getByRole('radio', { name: /^迁移到新版本/ }).check();
    await dialog.getByRole('button', { name: '发布版本 2', exact: true }).click();
    await page.getByText('旅程中 1 位客户已迁移到新版本，1 位留在原版本').waitFor();
    const gold = await inside('gold-1');
    assert.deepEqual([gold.version, gold.node], [2, 'w']);
    const silver = await inside('silver-1');
    assert.deepEqual([silver.version, silver.node], [1, 'x']);
    const j = (await srv.api('GET', `${base(project)}/journeys/${id}`)).body;
    assert.equal(j.live_version, 2, JSON.stringify(j));
    assert.deepEqual(c.errors.filter((e) => !/status of 40[0-9]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});
