'use strict';
// End-to-end: the console's segments, tags, channels & rules, advisor inbox and audit pages,
// in headless Chromium against the real server. Twenty customers' profiles are ingested through
// the API; accounts (operator, advisor, auditor) are created through the admin API. In the
// browser, signed in with each account's password:
//   operator — builds a segment with the visual rule builder (city = 上海 AND aum ≥ 100000),
//              sees the live estimate equal the true count, saves it and sees its members;
//              creates a rule tag with the form, runs it and sees its value distribution;
//              changes a touch rule (quiet hours) in the form (checked through the API);
//              test-sends on a webhook channel to a loopback receiver (success shown, one
//              request received) and on a channel to a closed port (the failure shown);
//   advisor  — sees only their own task (created by a journey's task node) and completes it
//              with an outcome (checked through the API);
//   auditor  — opens Audit: the operator's segment creation is in the trail, the chain is valid.
// Skips (with the reason) when the console has not been built (cd web && npm run build).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { openConsole, skipReason, CONSOLE_DIR } = require('../lib/console');
const { startHttpReceiver } = require('../lib/receivers');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console pages e2e skipped: ${SKIP}\n`);

const PASSWORD = 'console pages password';
const CITIES = ['上海', '北京', '上海', '深圳', '杭州'];
let srv;
let project;
const base = () => `/api/v1/projects/${encodeURIComponent(project)}`;
const want = {};

async function api(method, path, body, opts) {
  const r = await srv.api(method, path, body, opts);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
}

async function loadData() {
  project = uniqueName('pages');
  await api('POST', '/api/v1/projects', { name: project, time_zone: 'Asia/Shanghai' });
  const now = Date.now();
  let seq = 0;
  const people = [];
  for (let i = 1; i <= 20; i++) {
    const id = `c${String(i).padStart(2, '0')}`;
    const profile = { name: `客户${i}`, city: CITIES[i % 5], aum: i * 20000 };
    if (i === 3) profile.advisor_id = 'adv_wang';
    if (i === 4) profile.advisor_id = 'adv_li';
    people.push({ id, ...profile });
  }
  const records = people.map((p) => ({
    type: 'profile_set', distinct_id: p.id, time: now - 86400000, _track_id: ++seq,
    properties: Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'id')),
  }));
  const r = await srv.records(project, records);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, records.length, r.text);

  want.shanghaiRich = people.filter((p) => p.city === '上海' && p.aum >= 100000).map((p) => p.id).sort();
  want.high = people.filter((p) => p.aum >= 200000).length;
  want.normal = people.length - want.high;

  // The operator works at head office (a branch's operator sees only its branch's customers in
  // every count: docs/access.md); the advisor and the auditor sit in the Shanghai branch.
  for (const [name, roles, unit] of [['op_zhang', ['operator'], ''], ['adv_wang', ['advisor'], '/hq/shanghai'], ['aud_zhao', ['auditor'], '/hq/shanghai']]) {
    await api('POST', '/api/v1/admin/accounts', { name, password: PASSWORD, roles, projects: [project], ...(unit ? { org_unit: unit } : {}) });
  }

  // A running journey whose task node assigns each depositor's advisor (maker-checker through
  // the admin token's operators, as the journey tests do).
  await api('PUT', '/api/v1/admin/operators', { alice: ['maker'], bob: ['approver'] });
  const as = (op) => ({ headers: { 'X-Sextant-Operator': op } });
  const j = await api('POST', `${base()}/journeys`, {
    name: '大额入金回访', entry: { type: 'event', event: 'deposit' }, start: 'call',
    nodes: { call: { type: 'task', title: '大额入金回访', assign: { property: 'advisor_id', pool: 'desk' }, sla: '4h', next: 'done' }, done: { type: 'exit' } },
  }, as('alice'));
  for (const [action, who] of [['submit', 'alice'], ['approve', 'bob'], ['start', 'alice']]) {
    await api('POST', `${base()}/journeys/${j.id}/${action}`, undefined, as(who));
  }
  const deposits = ['c03', 'c04'].map((id) => ({ type: 'track', event: 'deposit', distinct_id: id, time: Date.now(), _track_id: ++seq, properties: { amount: 300000 } }));
  const d = await srv.records(project, deposits);
  assert.equal(d.body.accepted, 2, d.text);
  want.tasks = await waitFor(async () => {
    const t = await api('GET', `${base()}/tasks`);
    return t.tasks.length === 2 && t.tasks;
  }, 10000, 100);
}

before(async () => {
  if (SKIP) return;
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR] });
  await loadData();
});
after(async () => { if (srv) await srv.stop(); });

// Opens the console, signs in with the account's password (Chinese, the default language) and
// waits until the account's one project is picked.
async function signIn(name) {
  const c = await openConsole(srv.url);
  const { page } = c;
  await page.getByLabel('账号', { exact: true }).fill(name);
  await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${srv.url}/`);
  await waitFor(async () => (await page.getByLabel('项目', { exact: true }).inputValue()) === project, 10000, 100);
  return c;
}

const nav = (page, name) => page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name, exact: true });
const pageErrors = (c) => c.errors.filter((e) => !/status of 40[134]/.test(e));

test('operator: segment with the rule builder and live estimate, a rule tag with its distribution, quiet hours', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await signIn('op_zhang');
  const { page } = c;
  try {
    // The operator sees these areas; Accounts (admin) is not offered.
    for (const name of ['客群', '标签', '渠道与触达规则']) await nav(page, name).waitFor();
    assert.equal(await nav(page, '账号管理').count(), 0);

    // ---- segment: city = 上海 AND aum ≥ 100000 ----
    await nav(page, '客群').click();
    await page.getByRole('heading', { name: '客群', level: 1 }).waitFor();
    await page.getByRole('link', { name: '新建客群' }).click();
    await page.getByLabel('客群名称', { exact: true }).fill('上海高净值');
    const add = page.getByRole('group', { name: '规则 · 添加', exact: true });
    await add.getByRole('button', { name: '+ 用户属性', exact: true }).click();
    await page.getByLabel('条件 1 · 属性', { exact: true }).selectOption('city');
    await page.getByLabel('条件 1 · 运算符', { exact: true }).selectOption('=');
    await page.getByLabel('条件 1 · 值', { exact: true }).fill('上海');
    await add.getByRole('button', { name: '+ 用户属性', exact: true }).click();
    await page.getByLabel('条件 2 · 属性', { exact: true }).selectOption('aum');
    await page.getByLabel('条件 2 · 运算符', { exact: true }).selectOption('>=');
    await page.getByLabel('条件 2 · 值', { exact: true }).fill('100000');
    // The live estimate (debounced POST /segments/estimate) equals the true count.
    const estimate = page.getByRole('status', { name: '预估人数' });
    await waitFor(async () => {
      assert.equal(await estimate.getAttribute('aria-busy'), 'false');
      assert.equal(await estimate.locator('[data-size]').getAttribute('data-size'), String(want.shanghaiRich.length));
      return true;
    }, 10000, 100);
    assert.match(await estimate.textContent(), new RegExp(`${want.shanghaiRich.length} 人`));
    await page.getByRole('button', { name: '创建客群', exact: true }).click();
    await page.waitForURL(/\/segments\/\d+$/);
    const segId = page.url().split('/').pop();
    const members = page.getByRole('table', { name: '成员' });
    await members.waitFor();
    await waitFor(async () => {
      const ids = (await members.locator('tbody tr td:first-child').allTextContents()).sort();
      assert.deepEqual(ids, want.shanghaiRich);
      return true;
    }, 10000, 100);
    // Stored as the rule the builder showed, with a number for the NUMBER property.
    const seg = await api('GET', `${base()}/segments/${segId}`);
    assert.deepEqual(seg.rule, { all: [{ profile: 'city', op: '=', value: '上海' }, { profile: 'aum', op: '>=', value: 100000 }] });
    assert.equal(seg.size, want.shanghaiRich.length);

    // ---- tag: aum_level = 高 when aum ≥ 200000, else 普通; run; distribution ----
    await nav(page, '标签').click();
    await page.getByRole('link', { name: '新建标签' }).click();
    await page.getByLabel('标识名', { exact: true }).fill('aum_level');
    await page.getByLabel('显示名称', { exact: true }).fill('资产水平');
    await page.getByLabel('分类', { exact: true }).fill('财富/资产');
    assert.equal(await page.getByLabel('标签类型', { exact: true }).inputValue(), 'rule');
    await page.getByLabel('取值 1 · 值', { exact: true }).fill('高');
    await page.getByRole('group', { name: '取值 1 · 规则 · 添加', exact: true }).getByRole('button', { name: '+ 用户属性', exact: true }).click();
    await page.getByLabel('取值 1 · 条件 1 · 属性', { exact: true }).selectOption('aum');
    await page.getByLabel('取值 1 · 条件 1 · 运算符', { exact: true }).selectOption('>=');
    await page.getByLabel('取值 1 · 条件 1 · 值', { exact: true }).fill('200000');
    await page.getByLabel('默认值', { exact: true }).fill('普通');
    await page.getByRole('button', { name: '创建标签', exact: true }).click();
    await page.waitForURL(/\/tags\/\d+$/);
    await page.getByRole('heading', { name: /资产水平/, level: 1 }).waitFor();
    await page.getByRole('button', { name: '立即计算', exact: true }).click();
    await page.getByText(/计算完成：20 人有值/).waitFor();
    const dist = page.getByRole('table', { name: '取值分布' });
    await dist.waitFor();
    await waitFor(async () => {
      const rows = await dist.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
      assert.deepEqual(Object.fromEntries(rows), { 高: String(want.high), 普通: String(want.normal) });
      return true;
    }, 10000, 100);
    const tag = await api('GET', `${base()}/tags/aum_level`);
    assert.equal(tag.category, '财富/资产');
    assert.deepEqual(tag.definition.values, [{ value: '高', rule: { profile: 'aum', op: '>=', value: 200000 } }]);

    // ---- touch rules: quiet hours 22:00–07:30, deferred ----
    await nav(page, '渠道与触达规则').click();
    await page.getByRole('tab', { name: '触达规则' }).waitFor();
    await page.getByRole('button', { name: '+ 添加免打扰时段', exact: true }).click();
    await page.getByLabel('免打扰 1 · 开始', { exact: true }).fill('22:00');
    await page.getByLabel('免打扰 1 · 结束', { exact: true }).fill('07:30');
    await page.getByLabel('免打扰 1 · 处理方式', { exact: true }).selectOption('defer');
    await page.getByRole('button', { name: '保存触达规则', exact: true }).click();
    await page.getByText('触达规则已保存。').waitFor();
    const rules = await api('GET', `${base()}/touch-rules`);
    assert.deepEqual(rules.quiet_hours, [{ channel: '*', from: '22:00', to: '07:30', action: 'defer' }]);
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('advisor: sees only their own task and completes it with an outcome', { skip: SKIP || false, timeout: 40000 }, async () => {
  const c = await signIn('adv_wang');
  const { page } = c;
  try {
    await nav(page, '客户经理任务').click();
    const table = page.getByRole('table', { name: '待办任务' });
    await table.waitFor();
    // Only the task assigned to adv_wang (c03); c04's belongs to adv_li.
    assert.deepEqual(await table.locator('tbody tr td:first-child').allTextContents(), ['c03']);
    assert.match(await table.locator('tbody tr').first().textContent(), /剩余 \d/);
    await page.getByRole('button', { name: '完成 c03 的任务', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('跟进结果', { exact: true }).selectOption('interested');
    await dialog.getByLabel('备注', { exact: true }).fill('约了周三面谈');
    await dialog.getByRole('button', { name: '完成', exact: true }).click();
    await page.getByText('已完成：c03 的 大额入金回访。').waitFor();
    const task = (await api('GET', `${base()}/tasks`)).tasks.find((t) => t.distinct_id === 'c03');
    assert.equal(task.status, 'completed');
    assert.equal(task.outcome, 'interested');
    assert.equal(task.note, '约了周三面谈');
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('auditor: the operator\'s segment creation is in the audit trail and the chain is valid', { skip: SKIP || false, timeout: 40000 }, async () => {
  const c = await signIn('aud_zhao');
  const { page } = c;
  try {
    await nav(page, '审计').click();
    const status = page.getByRole('status', { name: '审计记录校验' });
    await status.waitFor();
    assert.match(await status.textContent(), /哈希链完整/);
    const trail = page.getByRole('table', { name: '审计记录' });
    await trail.waitFor();
    const rows = await trail.locator('tbody tr').allTextContents();
    assert.ok(
      rows.some((r) => r.includes('op_zhang') && r.includes(`POST /api/v1/projects/${project}/segments`) && r.includes('201')),
      `no entry of op_zhang creating the segment in:\n${rows.join('\n')}`,
    );
    // Filtering by actor asks the server for that actor's entries only.
    await page.getByLabel('操作者', { exact: true }).fill('op_zhang');
    await page.getByRole('button', { name: '筛选', exact: true }).click();
    await waitFor(async () => {
      const actors = await trail.locator('tbody tr td:nth-child(3)').allTextContents();
      assert.ok(actors.length > 0 && actors.every((a) => a.startsWith('op_zhang')), actors.join(','));
      return true;
    }, 10000, 100);
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('operator: test send on a channel shows the delivery outcome, success and failure', { skip: SKIP || false, timeout: 40000 }, async () => {
  const hook = await startHttpReceiver({ secret: 'whsec_console' });
  hook.respondWith(() => ({ status: 200, body: { id: 'msg-42' } }));
  await api('PUT', `${base()}/channels/hook`, { type: 'webhook', url: `${hook.url}/hooks/sextant`, secret: 'whsec_console' });
  await api('PUT', `${base()}/channels/dead`, { type: 'webhook', url: 'http://127.0.0.1:9/x', timeout_ms: 2000 });
  await api('PUT', `${base()}/channels/inbox`, { type: 'inapp' });
  const c = await signIn('op_zhang');
  const { page } = c;
  try {
    await nav(page, '渠道与触达规则').click();
    await page.getByRole('tab', { name: '渠道', exact: true }).click();
    await page.getByRole('table', { name: '渠道列表' }).waitFor();
    // In-app channels are pulled by the app: no test send for them.
    await page.getByRole('button', { name: '配置渠道 inbox', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: '测试发送：inbox', exact: true }).count(), 0);

    // ---- success: the loopback receiver answers 200 with an id ----
    await page.getByRole('button', { name: '测试发送：hook', exact: true }).click();
    let dialog = page.getByRole('dialog', { name: '测试发送：hook' });
    await dialog.getByLabel('接收方', { exact: true }).fill('c01');
    await dialog.getByLabel('主题', { exact: true }).fill('渠道测试');
    await dialog.getByLabel('正文', { exact: true }).fill('你好，这是一条测试消息');
    await dialog.getByRole('button', { name: '发送测试', exact: true }).click();
    let outcome = dialog.getByRole('status', { name: '测试发送结果' });
    await outcome.waitFor();
    const ok = await outcome.textContent();
    assert.match(ok, /✓ 已送达/);
    assert.match(ok, /状态码 200/);
    assert.match(ok, /耗时 [\d,]+ 毫秒/);
    assert.match(ok, /服务商消息 ID msg-42/);
    const received = await hook.waitForRequests(1);
    assert.equal(received.length, 1);
    assert.equal(received[0].method, 'POST');
    assert.equal(received[0].path, '/hooks/sextant');
    assert.equal(received[0].signatureValid, true);
    await dialog.getByRole('button', { name: '关闭', exact: true }).first().click();
    await dialog.waitFor({ state: 'detached' });

    // ---- failure: nothing listens on 127.0.0.1:9 ----
    await page.getByRole('button', { name: '测试发送：dead', exact: true }).click();
    dialog = page.getByRole('dialog', { name: '测试发送：dead' });
    await dialog.getByLabel('接收方', { exact: true }).fill('c01');
    await dialog.getByRole('button', { name: '发送测试', exact: true }).click();
    outcome = dialog.getByRole('status', { name: '测试发送结果' });
    await outcome.waitFor({ timeout: 10000 });
    const bad = await outcome.textContent();
    assert.match(bad, /✗ 未送达/);
    assert.doesNotMatch(bad, /已送达/);
    assert.match(bad, /可重试|不可重试/);
    const answer = await srv.api('POST', `${base()}/channels/dead/test`, { recipient: 'c01' });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.delivered, false);
    assert.ok(answer.body.error && bad.includes(answer.body.error), `error ${JSON.stringify(answer.body.error)} not shown in: ${bad}`);
    assert.equal(hook.requests.length, 1, 'the receiver got exactly one request');
    assert.deepEqual(pageErrors(c), [], 'no page errors');
  } finally {
    await c.close();
    await hook.close();
  }
});
