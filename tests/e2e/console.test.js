'use strict';
// End-to-end: the built web console (web/dist) served by the real server, in headless Chromium.
// A small bank-like data set (five customers, events over six days, one sign-up) is ingested
// through the API; the console must show exactly those numbers: the overview's key numbers,
// one customer's event timeline, an event analysis table and the people behind a number. Also:
// token and password sign-in, what an account's permissions hide, the API's error message on a
// wrong password, and the Chinese / English switch. Skips (with the reason) when the console
// has not been built (cd web && npm ci && npm run build).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { openConsole, skipReason, CONSOLE_DIR } = require('../lib/console');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console e2e skipped: ${SKIP}\n`);

const DAY = 86400000;
const TZ_OFFSET = 8 * 3600000;   // the project's zone, Asia/Shanghai (no DST)
const PASSWORD = 'console test password';
let srv;
let project;
const data = {};

// Day number of an instant in the project's zone.
const dayOf = (ms) => Math.floor((ms + TZ_OFFSET) / DAY);

async function loadData() {
  project = uniqueName('console');
  const cr = await srv.api('POST', '/api/v1/projects', { name: project, time_zone: 'Asia/Shanghai' });
  assert.equal(cr.status, 201, cr.text);
  const now = Date.now();
  const todayStart = dayOf(now) * DAY - TZ_OFFSET;
  // An instant `daysAgo` days back at about `hour` o'clock; today's events are put in the
  // past part of today (or just before now right after midnight).
  const at = (daysAgo, hour) => {
    if (daysAgo === 0) return Math.max(todayStart, Math.min(now - 60000, todayStart + hour * 3600000));
    return todayStart - daysAgo * DAY + hour * 3600000;
  };
  let seq = 0;
  const ev = (user, event, daysAgo, hour, properties = {}) => ({ type: 'track', event, distinct_id: user, time: at(daysAgo, hour), _track_id: ++seq, properties });
  const profile = (user, properties) => ({ type: 'profile_set', distinct_id: user, time: at(6, 9), _track_id: ++seq, properties });
  const records = [
    profile('u1', { name: '张伟', city: 'Shanghai', aum: 520000 }),
    profile('u2', { name: '李娜', city: 'Beijing', aum: 80000 }),
    profile('u3', { name: '王芳', city: 'Shanghai', aum: 1200000 }),
    profile('u4', { name: '刘洋', city: 'Shenzhen', aum: 30000 }),
    ev('u1', 'ViewFund', 5, 10, { fund_id: 'F001' }),
    ev('u1', 'BuyFund', 3, 11, { fund_id: 'F001', amount: 20000 }),
    ev('u1', 'ViewFund', 0, 1, { fund_id: 'F002' }),
    ev('u1', 'BuyFund', 0, 2, { fund_id: 'F002', amount: 5000 }),
    ev('u2', 'ViewFund', 4, 15, { fund_id: 'F001' }),
    ev('u2', 'ViewFund', 0, 3, { fund_id: 'F003' }),
    ev('u3', 'BuyFund', 2, 9, { fund_id: 'F003', amount: 100000 }),
    ev('u3', 'BuyFund', 1, 14, { fund_id: 'F001', amount: 50000 }),
    ev('u3', 'Deposit', 1, 16, { amount: 200000 }),
    ev('u4', 'ViewFund', 1, 20, { fund_id: 'F002' }),
    // A new customer signs up today: anonymous visit, then the sign-up binds it to u5.
    { type: 'track', event: 'ViewFund', distinct_id: 'anon-5', time: at(0, 0), _track_id: ++seq, properties: { fund_id: 'F001' } },
    { type: 'track_signup', event: '$SignUp', distinct_id: 'u5', original_id: 'anon-5', time: at(0, 1), _track_id: ++seq, properties: {} },
  ];
  const r = await srv.records(project, records);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, records.length, r.text);

  // What the console must show, worked out from the records (anon-5 is u5 after the sign-up).
  const events = records.filter((x) => x.type !== 'profile_set').map((x) => ({ ...x, person: x.distinct_id === 'anon-5' ? 'u5' : x.distinct_id }));
  const today = events.filter((x) => dayOf(x.time) === dayOf(now));
  data.todayUsers = new Set(today.map((x) => x.person)).size;
  data.todayEvents = today.length;
  data.users30 = new Set(events.map((x) => x.person)).size;
  data.events30 = events.length;
  data.u1Events = events.filter((x) => x.person === 'u1').length;
  data.buyFund7d = events.filter((x) => x.event === 'BuyFund').length;
  data.buyers = [...new Set(events.filter((x) => x.event === 'BuyFund').map((x) => x.person))].sort();

  // An analyst account for the password sign-in.
  const acc = await srv.api('POST', '/api/v1/admin/accounts', { name: 'ana', password: PASSWORD, roles: ['analyst'], projects: [project] });
  assert.equal(acc.status, 201, acc.text);
}

before(async () => {
  if (SKIP) return;
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR] });
  await loadData();
});
after(async () => { if (srv) await srv.stop(); });

// The values (dd) of the key-number card titled `title`.
async function cardValues(page, title) {
  return page.getByRole('group', { name: title, exact: true }).locator('dd').allTextContents();
}

test('admin token: overview numbers, user lookup, event analysis with drill-down, language switch', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    // Chinese by default.
    await page.getByRole('button', { name: '使用令牌登录' }).or(page.getByRole('button', { name: '登录', exact: true })).first().waitFor();
    await c.signInWithToken(srv.token);
    await page.getByRole('heading', { name: '概览', level: 1 }).waitFor();
    await page.getByLabel('项目', { exact: true }).selectOption(project);

    // English: the visible labels change.
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    assert.equal(await page.getByRole('heading', { name: '概览' }).count(), 0);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');

    // Overview: today and the last 30 days, exactly as ingested.
    const want = {
      'Active users': [String(data.todayUsers), String(data.users30)],
      Events: [String(data.todayEvents), String(data.events30)],
      'Sign-ups': ['1', '1'],
      'Touches sent': ['0', '0'],
    };
    for (const [title, values] of Object.entries(want)) {
      await waitFor(async () => {
        assert.deepEqual(await cardValues(page, title), values, `overview card ${title}`);
        return true;
      }, 15000, 100);
    }
    // Both daily charts are drawn.
    assert.equal(await page.getByRole('img', { name: /last 30 days/ }).count(), 2);

    // User lookup: u1's events on the timeline, their profile.
    await page.getByRole('link', { name: 'User lookup', exact: true }).click();
    await page.getByLabel('Distinct ID or identity value', { exact: true }).fill('u1');
    await page.getByRole('button', { name: 'Look up', exact: true }).click();
    await page.waitForURL(`${srv.url}/users/u1`);
    const timeline = page.getByRole('list', { name: 'Event timeline' });
    await waitFor(async () => {
      assert.equal(await timeline.locator('summary').count(), data.u1Events);
      return true;
    }, 10000, 100);
    const lines = await timeline.locator('summary').allTextContents();
    assert.equal(lines.filter((l) => l.includes('BuyFund')).length, 2, lines.join('\n'));
    assert.equal(lines.filter((l) => l.includes('ViewFund')).length, 2, lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('amount=5000')), lines.join('\n'));
    await page.getByRole('cell', { name: 'Shanghai', exact: true }).waitFor();

    // Event analysis: BuyFund count over the last 7 days, whole range → one row with the count.
    await page.getByRole('link', { name: 'Analysis', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/events`);
    await page.getByLabel('Event', { exact: true }).selectOption('BuyFund');
    await page.getByLabel('Aggregation', { exact: true }).selectOption('count');
    await page.getByLabel('Time range', { exact: true }).selectOption('7d');
    await page.getByLabel('Time unit', { exact: true }).selectOption('total');
    await page.getByRole('button', { name: 'Run analysis' }).click();
    const table = page.getByRole('table', { name: 'Event analysis result' });
    await table.waitFor();
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 1);
    const cells = await rows.first().locator('td').allTextContents();
    assert.equal(cells[cells.length - 1], String(data.buyFund7d), `row: ${cells}`);

    // The number links to the people behind it.
    await rows.first().getByRole('link').click();
    const people = page.getByRole('table', { name: 'People behind the number' });
    await people.waitFor();
    const ids = (await people.locator('tbody tr td:first-child').allTextContents()).sort();
    assert.deepEqual(ids, data.buyers);

    // Back to Chinese.
    await page.getByLabel('Language', { exact: true }).selectOption('zh-CN');
    await page.getByRole('link', { name: '分析', exact: true }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Analysis', exact: true }).count(), 0);
    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('password sign-in: the API error for a wrong password, then an analyst sees only what analysts may', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url, { locale: 'en-US' });
  const { page } = c;
  try {
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    await page.getByLabel('Account name', { exact: true }).fill('ana');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent(), /wrong account name or password/);

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${srv.url}/`);
    await page.getByText('ana', { exact: true }).waitFor();
    // The analyst's one project is picked; analysis and data are there, audit and journeys' write
    // pages are not in the navigation.
    await waitFor(async () => {
      assert.equal(await page.getByLabel('Project', { exact: true }).inputValue(), project);
      return true;
    }, 10000, 100);
    const nav = page.getByRole('navigation', { name: 'Main navigation' });
    for (const name of ['Overview', 'Data', 'User lookup', 'Analysis', 'Segments', 'Journeys']) {
      assert.equal(await nav.getByRole('link', { name: new RegExp(`^${name}`) }).count(), 1, `nav ${name}`);
    }
    for (const name of ['Audit', 'Advisor inbox', 'Channels & rules']) {
      assert.equal(await nav.getByRole('link', { name: new RegExp(`^${name}`) }).count(), 0, `nav ${name} hidden`);
    }
    await waitFor(async () => {
      assert.deepEqual(await cardValues(page, 'Events'), [String(data.todayEvents), String(data.events30)]);
      return true;
    }, 15000, 100);

    // Sign out: back to the login page; the session token no longer works.
    const token = await page.evaluate(() => sessionStorage.getItem('sextant.token'));
    assert.match(token, /^sxs_/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${srv.url}/login`);
    await page.getByText('You have signed out.').waitFor();
    const me = await srv.api('GET', '/api/v1/auth/me', undefined, { token });
    assert.equal(me.status, 401, me.text);
  } finally {
    await c.close();
  }
});
