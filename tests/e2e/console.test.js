'use strict';
// End-to-end: the built web console (web/dist) served by the real server, in headless Chromium.
// A small bank-like data set (five customers, events over six days, one sign-up) is ingested
// through the API; the console must show exactly those numbers: the overview's key numbers,
// one customer's event timeline, an event analysis table and the people behind a number. Also:
// token and password sign-in, what an account's permissions hide, the API's error message on a
// wrong password, and the Chinese / English switch. In a second project: the Data page's live
// event stream (events ingested while the page is open appear, pause / resume), personal data
// masked by the server for an account without pii.read (shown as sent, with a note), a
// customer's consent, and the admin's data-subject export (a downloaded JSON file). Skips (with
// the reason) when the console has not been built (cd web && npm ci && npm run build).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { openConsole, skipReason, CONSOLE_DIR } = require('../lib/console');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console e2e skipped: ${SKIP}\n`);

const DAY = 86400000;
const TZ_OFFSET = 8 * 3600000;   // the project's zone, Asia/Shanghai (no DST)
const PASSWORD = 'console test password';
const OPS_PASSWORD = 'operator test password';
const PHONE = '13812345678';
const PHONE_MASKED = '138****5678';
let srv;
let project;
let project2;   // the live stream, masking, consent and export tests
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

// A second project with one customer holding personal data (a phone number, a name) in their
// profile and event properties, and consent choices; an operator account (no pii.read).
async function loadProject2() {
  project2 = uniqueName('console_pii');
  const cr = await srv.api('POST', '/api/v1/projects', { name: project2, time_zone: 'Asia/Shanghai' });
  assert.equal(cr.status, 201, cr.text);
  const now = Date.now();
  const records = [
    { type: 'profile_set', distinct_id: 'c1', time: now - 3600000, _track_id: 1, properties: { name: '张伟', phone: PHONE, city: 'Hangzhou' } },
    { type: 'track', event: 'OpenApp', distinct_id: 'c1', time: now - 1800000, _track_id: 2, properties: { phone: PHONE, channel: 'ios' } },
  ];
  const r = await srv.records(project2, records);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, records.length, r.text);
  const consentPath = `/api/v1/projects/${encodeURIComponent(project2)}/users/c1/consent`;
  for (const choice of [{ purpose: 'marketing', channel: 'sms', granted: false }, { purpose: 'marketing', channel: '*', granted: true }]) {
    const c = await srv.api('PUT', consentPath, choice);
    assert.equal(c.status, 200, c.text);
  }
  const acc = await srv.api('POST', '/api/v1/admin/accounts', { name: 'ops', password: OPS_PASSWORD, roles: ['operator'], projects: [project2] });
  assert.equal(acc.status, 201, acc.text);
  assert.ok(!acc.body.permissions.includes('pii.read') && acc.body.permissions.includes('rules.read'), acc.text);
}

before(async () => {
  if (SKIP) return;
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR] });
  await loadData();
  await loadProject2();
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

// Signs in with the admin token, switches to English and opens `name` in the project picker.
async function adminInEnglish(name) {
  const c = await openConsole(srv.url);
  const { page } = c;
  await c.signInWithToken(srv.token);
  await page.getByLabel('语言', { exact: true }).selectOption('en');
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  await page.getByLabel('Project', { exact: true }).selectOption(name);
  return c;
}

test('data page: the live event stream shows events ingested while it is open; pause and resume', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await adminInEnglish(project2);
  const { page } = c;
  try {
    await page.getByRole('link', { name: 'Data', exact: true }).click();
    await page.waitForURL(`${srv.url}/data`);
    // The first read starts the stream: nothing yet, and the page says events will come.
    await page.getByText('Waiting for events…', { exact: true }).waitFor({ timeout: 10000 });

    const now = Date.now();
    const r = await srv.records(project2, [
      { type: 'track', event: 'LiveViewFund', distinct_id: 'live-1', time: now - 2000, _track_id: 101, properties: { fund_id: 'F009', phone: PHONE } },
      { type: 'track', event: 'LiveBuyFund', distinct_id: 'live-2', time: now - 1000, _track_id: 102, properties: { fund_id: 'F009', amount: 3000 } },
    ]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.accepted, 2, r.text);

    const stream = page.getByRole('table', { name: 'Live event stream' });
    const rows = stream.locator('tbody tr');
    await waitFor(async () => {
      assert.equal(await rows.count(), 2);
      return true;
    }, 8000, 100);
    // Newest first; the distinct id links to the user lookup; the admin sees the phone as stored.
    const texts = await rows.allTextContents();
    assert.match(texts[0], /LiveBuyFund/, texts.join('\n'));
    assert.match(texts[0], /amount=3000/, texts.join('\n'));
    assert.match(texts[1], /LiveViewFund/, texts.join('\n'));
    assert.ok(texts[1].includes(`phone=${PHONE}`), texts.join('\n'));
    assert.equal(await rows.nth(1).getByRole('link', { name: 'live-1', exact: true }).getAttribute('href'), '/users/live-1');
    assert.equal(await page.getByText('Personal data masked (no pii.read)').count(), 0);

    // Paused: a new event is collected but not shown until resumed.
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    const r2 = await srv.records(project2, [{ type: 'track', event: 'LiveDeposit', distinct_id: 'live-1', time: Date.now(), _track_id: 103, properties: { amount: 10 } }]);
    assert.equal(r2.status, 200, r2.text);
    await page.getByRole('button', { name: 'Resume (1 new)', exact: true }).waitFor({ timeout: 8000 });
    assert.equal(await rows.count(), 2);
    await page.getByRole('button', { name: 'Resume (1 new)', exact: true }).click();
    await waitFor(async () => {
      assert.equal(await rows.count(), 3);
      return true;
    }, 3000, 100);
    assert.match(await rows.first().textContent(), /LiveDeposit/);

    // The link opens that customer.
    await rows.nth(2).getByRole('link', { name: 'live-1', exact: true }).click();
    await page.waitForURL(`${srv.url}/users/live-1`);
    await page.getByRole('heading', { name: /Customer live-1/, level: 1 }).waitFor();
    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('data page: an import job started from a file upload shows its progress, counts and rejected row', { skip: SKIP || false, timeout: 90000 }, async () => {
  const c = await adminInEnglish(project2);
  const { page } = c;
  // 3,000 deposits of 60 customers, one with a time that cannot be read (line 5 of the file).
  const start = Date.now() - 2 * 3600000;
  const lines = ['distinct_id,event,time,amount'];
  for (let i = 0; i < 3000; i++) lines.push(`imp-${i % 60},ImportedDeposit,${i === 3 ? 'yesterday-ish' : start + i * 1000},${100 + i}`);
  const file = path.join(os.tmpdir(), `${uniqueName('deposits')}.csv`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  try {
    await page.getByRole('link', { name: 'Data', exact: true }).click();
    await page.waitForURL(`${srv.url}/data`);
    await page.getByRole('tab', { name: 'Import jobs' }).click();
    await page.getByText('No import jobs yet', { exact: true }).waitFor();
    await page.getByLabel('File', { exact: true }).setInputFiles(file);
    await page.getByLabel('Contents', { exact: true }).selectOption('events');
    await page.getByRole('button', { name: 'Start import', exact: true }).click();
    // The job's row: its progress bar, then Done with the counts the server reports.
    const row = page.locator('tr[data-import-id]').first();
    await row.locator('[data-status="done"]').waitFor({ timeout: 30000 });
    assert.equal(await row.getByRole('progressbar').getAttribute('value'), '100');
    const cells = await row.locator('td.num').allTextContents();
    assert.deepEqual(cells.map((x) => x.trim()), ['2,999', '0', '1']);
    await row.getByText('Show 1 rejected row').click();
    const rejected = await row.getByLabel('Rejected rows').textContent();
    assert.match(rejected, new RegExp(`^${path.basename(file).replace('.', '\\.')}:5: \\S+ time: `));
    // The events are in the store: the API counts them.
    const r = await srv.api('POST', `/api/v1/projects/${encodeURIComponent(project2)}/query`, { type: 'events', last: '2d', unit: 'total', measures: [{ event: 'ImportedDeposit' }] });
    assert.equal(r.body.rows[0].at(-1), 2999, r.text);
    // Deleted from the list.
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('No import jobs yet', { exact: true }).waitFor();
    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    fs.rmSync(file, { force: true });
    await c.close();
  }
});

test('user lookup without pii.read: personal data as the server masks it, consent, no export', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    await c.signInWithPassword('ops', OPS_PASSWORD);
    await waitFor(async () => {
      assert.equal(await page.getByLabel('Project', { exact: true }).inputValue(), project2);
      return true;
    }, 10000, 100);
    await page.getByRole('link', { name: 'User lookup', exact: true }).click();
    await page.getByLabel('Distinct ID or identity value', { exact: true }).fill('c1');
    await page.getByRole('button', { name: 'Look up', exact: true }).click();
    await page.waitForURL(`${srv.url}/users/c1`);

    // The profile shows what the server sends: the phone masked, the name masked, the city as is.
    const profile = page.getByRole('table', { name: 'Profile', exact: true });
    await profile.waitFor();
    await profile.getByRole('cell', { name: PHONE_MASKED, exact: true }).waitFor();
    await profile.getByRole('cell', { name: 'Hangzhou', exact: true }).waitFor();
    const nameCell = await profile.getByRole('row', { name: /^name/ }).getByRole('cell').textContent();
    assert.ok(nameCell.startsWith('张') && nameCell !== '张伟' && nameCell.includes('*'), nameCell);
    // The identity (not personal data by default) is shown, not hidden by the console.
    await page.getByRole('table', { name: 'Identities', exact: true }).getByRole('cell', { name: 'c1', exact: true }).waitFor();
    await page.getByText('Personal data masked (no pii.read)').waitFor();
    // The event timeline's properties are masked too; the clear number appears nowhere.
    const timeline = page.getByRole('list', { name: 'Event timeline' });
    await waitFor(async () => {
      const lines = await timeline.locator('summary').allTextContents();
      assert.ok(lines.some((l) => l.includes(`phone=${PHONE_MASKED}`)), lines.join('\n'));
      return true;
    }, 10000, 100);
    assert.equal(await page.getByText(PHONE).count(), 0, 'the clear phone number is not on the page');

    // Consent (the operator has rules.read): channel sms refused, all channels granted.
    const consent = page.getByRole('table', { name: 'Consent', exact: true });
    await consent.waitFor();
    const consentRows = (await consent.locator('tbody tr').allTextContents()).map((x) => x.replace(/\s+/g, ' '));
    assert.deepEqual(consentRows, ['marketingAll channels (*)Granted', 'marketingsmsRefused'], consentRows.join('\n'));

    // The data-subject export is for admins only.
    assert.equal(await page.getByRole('button', { name: /^Export customer data/ }).count(), 0);
    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('user lookup as admin: clear personal data and the data-subject export downloads the customer as JSON', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await adminInEnglish(project2);
  const { page } = c;
  try {
    await page.getByRole('link', { name: 'User lookup', exact: true }).click();
    await page.getByLabel('Distinct ID or identity value', { exact: true }).fill('c1');
    await page.getByRole('button', { name: 'Look up', exact: true }).click();
    await page.waitForURL(`${srv.url}/users/c1`);
    const profile = page.getByRole('table', { name: 'Profile', exact: true });
    await profile.getByRole('cell', { name: PHONE, exact: true }).waitFor();
    await profile.getByRole('cell', { name: '张伟', exact: true }).waitFor();
    assert.equal(await page.getByText('Personal data masked (no pii.read)').count(), 0);
    await page.getByRole('table', { name: 'Consent', exact: true }).waitFor();

    const button = page.getByRole('button', { name: 'Export customer data (data-subject request)', exact: true });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), button.click()]);
    const filename = download.suggestedFilename();
    assert.match(filename, /^customer-\d+\.json$/);
    const file = await download.path();
    const exported = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
    assert.equal(exported.distinct_id, 'c1');
    assert.equal(exported.project, project2);
    assert.equal(exported.customer.profile.phone, PHONE);
    assert.ok(exported.events.some((e) => e.event === 'OpenApp'), JSON.stringify(exported.events));
    await page.getByText(`Downloaded ${filename}`).waitFor();
    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});
