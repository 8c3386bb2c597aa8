'use strict';
// End-to-end: the console's analysis area beyond events / funnel — retention grouped by an
// initial event's property (one group's heat table, a cell opened into its people), paths (Sankey
// and top-path table), distribution (histogram, a bucket opened into its people), interval (the
// median the API answers for the very query the page sent), saving those as metrics and a
// dashboard that shows two of them. A small deterministic data set (five customers, fund visits
// over four days) is ingested through the API; the real server serves the built console
// (web/dist) to headless Chromium. Skips (with the reason) when the console has not been built.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, waitFor, uniqueName } = require('../lib/server');
const { openConsole, skipReason, CONSOLE_DIR } = require('../lib/console');

const SKIP = skipReason();
if (SKIP) process.stderr.write(`# console analysis e2e skipped: ${SKIP}\n`);

const DAY = 86400000;
const TZ_OFFSET = 8 * 3600000; // the project's zone, Asia/Shanghai (no DST)
let srv;
let project;

const dayOf = (ms) => Math.floor((ms + TZ_OFFSET) / DAY);

// Five customers, all on days 1..4 before today (project time zone), so "last 7 days" holds all.
//   u1 day 4: ViewFund 10:00, AddWatch 10:05, BuyFund 10:10; day 2: ViewFund 09:00, BuyFund 09:03
//   u2 day 3: ViewFund 14:00, AddWatch 14:02, BuyFund 14:30   (gaps under 30 min: one visit)
//   u3 day 2: ViewFund 20:00, AddWatch 20:01, BuyFund 20:15
//   u4 day 1: ViewFund 08:00, Search 08:10
//   u5 day 1: Search 12:00, ViewFund 12:05, AddWatch 12:06
// Paths after ViewFund, depth 3: [V,A,B] ×3 (u1 day 4, u2, u3), [V,B], [V,Search], [V,A] → 6 visits.
// BuyFund times per person: u1 2, u2 1, u3 1 → bucket "1": 2 people, "2": 1, "3 or more": 0.
// ViewFund → BuyFund intervals: 600 s, 180 s, 1800 s, 900 s → median (nearest rank) 600 s.
async function loadData() {
  project = uniqueName('analysis');
  const cr = await srv.api('POST', '/api/v1/projects', { name: project, time_zone: 'Asia/Shanghai' });
  assert.equal(cr.status, 201, cr.text);
  const todayStart = dayOf(Date.now()) * DAY - TZ_OFFSET;
  const at = (daysAgo, hour, minute) => todayStart - daysAgo * DAY + hour * 3600000 + minute * 60000;
  let seq = 0;
  const ev = (user, event, daysAgo, hour, minute, properties = {}) => ({
    type: 'track', event, distinct_id: user, time: at(daysAgo, hour, minute), _track_id: ++seq, properties,
  });
  const records = [
    ev('u1', 'ViewFund', 4, 10, 0, { fund_id: 'F001' }),
    ev('u1', 'AddWatch', 4, 10, 5, { fund_id: 'F001' }),
    ev('u1', 'BuyFund', 4, 10, 10, { fund_id: 'F001', amount: 20000 }),
    ev('u1', 'ViewFund', 2, 9, 0, { fund_id: 'F002' }),
    ev('u1', 'BuyFund', 2, 9, 3, { fund_id: 'F002', amount: 5000 }),
    ev('u2', 'ViewFund', 3, 14, 0, { fund_id: 'F001' }),
    ev('u2', 'AddWatch', 3, 14, 2, { fund_id: 'F001' }),
    ev('u2', 'BuyFund', 3, 14, 30, { fund_id: 'F001', amount: 8000 }),
    ev('u3', 'ViewFund', 2, 20, 0, { fund_id: 'F003' }),
    ev('u3', 'AddWatch', 2, 20, 1, { fund_id: 'F003' }),
    ev('u3', 'BuyFund', 2, 20, 15, { fund_id: 'F003', amount: 100000 }),
    ev('u4', 'ViewFund', 1, 8, 0, { fund_id: 'F002' }),
    ev('u4', 'Search', 1, 8, 10, { keyword: 'bond' }),
    ev('u5', 'Search', 1, 12, 0, { keyword: 'gold' }),
    ev('u5', 'ViewFund', 1, 12, 5, { fund_id: 'F004' }),
    ev('u5', 'AddWatch', 1, 12, 6, { fund_id: 'F004' }),
  ];
  const r = await srv.records(project, records);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, records.length, r.text);
}

before(async () => {
  if (SKIP) return;
  srv = await startServer({ extraArgs: ['--console-dir', CONSOLE_DIR] });
  await loadData();
});
after(async () => { if (srv) await srv.stop(); });

// The texts of the cells of the table row whose header cell (or first cell) is `head`.
async function rowCells(table, head) {
  const row = table.getByRole('row').filter({ has: table.page().getByRole('rowheader', { name: head, exact: true }) });
  await row.first().waitFor();
  return row.first().getByRole('cell').allTextContents();
}

// Saves the analysis on the page as a metric named `name`.
async function saveAsMetric(page, name) {
  await page.getByRole('button', { name: 'Save as metric', exact: true }).click();
  await page.getByRole('dialog').getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('status').filter({ hasText: `Saved metric "${name}"` }).waitFor();
}

// "2026-01-02" for the project day `daysAgo` days before today.
const dateDaysAgo = (daysAgo) => new Date((dayOf(Date.now()) - daysAgo) * DAY).toISOString().slice(0, 10);

// Retention ViewFund → BuyFund by day, grouped by the ViewFund's fund_id. All customers: cohorts
// day 4 {u1}, day 3 {u2}, day 2 {u1, u3}, day 1 {u4, u5}. Group F001: day 4 {u1}, who bought again
// two days later (day 2); day 3 {u2}, who did not buy on a later day.
test('retention grouped by the initial event\'s property: one group\'s table, a cell opened into its people', { skip: SKIP || false, timeout: 60000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await c.signInWithToken(srv.token);
    await page.getByLabel('项目', { exact: true }).selectOption(project);
    await page.getByLabel('语言', { exact: true }).selectOption('en');
    await page.getByRole('link', { name: 'Analysis', exact: true }).click();
    await page.getByRole('link', { name: 'Retention', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/retention`);
    await page.getByLabel('Initial event', { exact: true }).selectOption('ViewFund');
    await page.getByLabel('Return event', { exact: true }).selectOption('BuyFund');
    await page.getByLabel('Number of periods', { exact: true }).fill('3');
    await page.getByLabel('Group by property', { exact: true }).selectOption('event.fund_id');
    await page.getByLabel('Time range', { exact: true }).selectOption('7d');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/projects/${project}/query`));
    await page.getByRole('button', { name: 'Run analysis' }).click();
    const query = JSON.parse((await sent).postData());
    assert.deepEqual(query.by, ['event.fund_id']);

    const table = page.getByRole('table', { name: 'Retention by cohort' });
    await table.waitFor();
    // Every customer first: the cohort sizes.
    assert.deepEqual((await rowCells(table, dateDaysAgo(2))).slice(0, 2), ['2', '2']);
    assert.deepEqual((await rowCells(table, dateDaysAgo(1))).slice(0, 2), ['2', '2']);

    // The group F001: two cohorts of one; u1 came back two days later.
    const picker = page.getByLabel('Show group (event.fund_id)', { exact: true });
    const options = await picker.locator('option').allTextContents();
    assert.deepEqual(options, ['All customers', 'F001 (2)', 'F002 (2)', 'F003 (1)', 'F004 (1)']);
    await picker.selectOption({ label: 'F001 (2)' });
    await waitFor(async () => {
      assert.deepEqual(await rowCells(table, dateDaysAgo(4)), ['1', '1', '0.0%', '100.0%', '0.0%']);
      return true;
    }, 5000, 100);
    assert.deepEqual(await rowCells(table, dateDaysAgo(3)), ['1', '1', '0.0%', '0.0%', '0.0%']);
    await page.getByText(/Grouped by the initial event's property/).waitFor();

    await table.getByRole('link', { name: new RegExp(`Cohort ${dateDaysAgo(4)}, period 2$`) }).click();
    await page.waitForURL(/\/analysis\/users\?/);
    const people = page.getByRole('table', { name: 'People behind the number' });
    await people.waitFor();
    await waitFor(async () => {
      assert.deepEqual(await people.getByRole('row').locator('td:first-child').allTextContents(), ['u1']);
      return true;
    }, 10000, 100);
    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});

test('paths, distribution, interval and a dashboard of saved metrics', { skip: SKIP || false, timeout: 90000 }, async () => {
  const c = await openConsole(srv.url);
  const { page } = c;
  try {
    await c.signInWithToken(srv.token);
    await page.getByLabel('项目', { exact: true }).selectOption(project);
    // Chinese by default: the new analysis tabs are there.
    await page.getByRole('link', { name: '分析', exact: true }).click();
    await page.getByRole('link', { name: '路径分析', exact: true }).waitFor();
    await page.getByRole('link', { name: '看板', exact: true }).waitFor();
    await page.getByLabel('语言', { exact: true }).selectOption('en');

    // Paths after ViewFund, depth 3, last 7 days: the Sankey is drawn and the top path is
    // ViewFund → AddWatch → BuyFund in 3 of 6 visits.
    await page.getByRole('link', { name: 'Paths', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/paths`);
    await page.getByLabel('Paths that', { exact: true }).selectOption('after');
    await page.getByLabel('Start event', { exact: true }).selectOption('ViewFund');
    await page.getByLabel('Depth (events per path)', { exact: true }).fill('3');
    await page.getByLabel('Time range', { exact: true }).selectOption('7d');
    await page.getByRole('button', { name: 'Run analysis' }).click();
    const paths = page.getByRole('table', { name: 'Most frequent paths' });
    await paths.waitFor();
    await page.getByText('6 visits (paths) found.').waitFor();
    const sankey = page.getByRole('img', { name: /^Sankey chart of the paths/ });
    await sankey.waitFor();
    // The Sankey is drawn once ECharts has arrived (loaded by the first chart, after the numbers).
    await sankey.locator('canvas').first().waitFor();
    const first = await paths.getByRole('row').nth(1).getByRole('cell').allTextContents();
    assert.deepEqual(first, ['1', 'ViewFund → AddWatch → BuyFund', '3', '50.0%']);
    assert.equal(await paths.getByRole('row').count(), 1 + 4, 'four distinct paths');
    await saveAsMetric(page, 'Fund visit paths');
    // The top path's count opens into the people whose visits took it: u1 (day 4), u2, u3.
    await paths.getByRole('link', { name: /people with a visit along ViewFund → AddWatch → BuyFund$/ }).click();
    await page.waitForURL(/\/analysis\/users\?/);
    const pathPeople = page.getByRole('table', { name: 'People behind the number' });
    await pathPeople.waitFor();
    await waitFor(async () => {
      assert.deepEqual(await pathPeople.getByRole('row').locator('td:first-child').allTextContents(), ['u1', 'u2', 'u3']);
      return true;
    }, 10000, 100);

    // Distribution of BuyFund times per person, buckets 1, 2, 3+.
    await page.getByRole('link', { name: 'Distribution', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/distribution`);
    await page.getByLabel('Event', { exact: true }).selectOption('BuyFund');
    await page.getByLabel('Count per person', { exact: true }).selectOption('times');
    await page.getByLabel('Bucket starts', { exact: true }).fill('1, 2, 3');
    await page.getByLabel('Time range', { exact: true }).selectOption('7d');
    await page.getByRole('button', { name: 'Run analysis' }).click();
    const dist = page.getByRole('table', { name: 'Distribution result' });
    await dist.waitFor();
    assert.deepEqual(await rowCells(dist, '1'), ['2', '66.7%']);
    assert.deepEqual(await rowCells(dist, '2'), ['1', '33.3%']);
    assert.deepEqual(await rowCells(dist, '3 or more'), ['0', '0.0%']);
    // The count opens into its people: u2 and u3 bought once.
    await dist.getByRole('link', { name: /^2 — See the people behind this number/ }).click();
    await page.waitForURL(/\/analysis\/users\?/);
    const people = page.getByRole('table', { name: 'People behind the number' });
    await people.waitFor();
    await waitFor(async () => {
      const ids = await people.getByRole('row').locator('td:first-child').allTextContents();
      assert.deepEqual(ids, ['u2', 'u3']);
      return true;
    }, 10000, 100);

    // Interval ViewFund → BuyFund: the median shown is the API's answer to the same query.
    await page.getByRole('link', { name: 'Interval', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/interval`);
    await page.getByLabel('Start event (A)', { exact: true }).selectOption('ViewFund');
    await page.getByLabel('End event (B)', { exact: true }).selectOption('BuyFund');
    await page.getByLabel('Time range', { exact: true }).selectOption('7d');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/projects/${project}/query`));
    await page.getByRole('button', { name: 'Run analysis' }).click();
    const query = JSON.parse((await sent).postData());
    assert.equal(query.type, 'interval');
    const api = await srv.api('POST', `/api/v1/projects/${project}/query`, query);
    assert.equal(api.status, 200, api.text);
    assert.equal(api.body.intervals, 4, api.text);
    assert.equal(api.body.median, 600, api.text);
    const stats = page.getByRole('table', { name: 'Interval quantiles' });
    await stats.waitFor();
    const [duration, seconds] = await rowCells(stats, 'Median');
    assert.equal(Number(seconds.replace(/[,\s]/g, '')), api.body.median);
    assert.equal(duration, '10 min');
    assert.ok(await page.getByRole('img', { name: /^Box plot of the intervals/ }).isVisible());
    await saveAsMetric(page, 'View to buy time');
    // The people with an interval: u1 (two intervals), u2, u3 — u4 and u5 never bought.
    await page.getByRole('link', { name: /people with an interval from ViewFund to BuyFund$/ }).click();
    await page.waitForURL(/\/analysis\/users\?/);
    const intervalPeople = page.getByRole('table', { name: 'People behind the number' });
    await intervalPeople.waitFor();
    await waitFor(async () => {
      assert.deepEqual(await intervalPeople.getByRole('row').locator('td:first-child').allTextContents(), ['u1', 'u2', 'u3']);
      return true;
    }, 10000, 100);

    // A dashboard of the two saved metrics: both render with their own chart and numbers.
    await page.getByRole('link', { name: 'Dashboards', exact: true }).click();
    await page.waitForURL(`${srv.url}/analysis/dashboards`);
    await page.getByText('No dashboards yet').waitFor();
    await page.getByRole('button', { name: 'New dashboard', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Fund funnel board');
    await dialog.getByRole('checkbox', { name: 'Fund visit paths', exact: true }).check();
    await dialog.getByRole('checkbox', { name: 'View to buy time', exact: true }).check();
    await dialog.getByLabel('Width of Fund visit paths', { exact: true }).selectOption('2');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/\/analysis\/dashboards\/\d+$/);
    await page.getByRole('heading', { name: 'Fund funnel board' }).waitFor();

    const pathsItem = page.getByRole('region', { name: 'Fund visit paths' });
    const pathsTable = pathsItem.getByRole('table', { name: 'Most frequent paths' });
    await pathsTable.waitFor();
    assert.deepEqual(await pathsTable.getByRole('row').nth(1).getByRole('cell').allTextContents(), ['1', 'ViewFund → AddWatch → BuyFund', '3', '50.0%']);
    await pathsItem.getByRole('img', { name: /^Sankey chart of the paths/ }).waitFor();

    const intervalItem = page.getByRole('region', { name: 'View to buy time' });
    const intervalStats = intervalItem.getByRole('table', { name: 'Interval quantiles' });
    await intervalStats.waitFor();
    const [, dashSeconds] = await rowCells(intervalStats, 'Median');
    assert.equal(Number(dashSeconds.replace(/[,\s]/g, '')), api.body.median);
    await intervalItem.getByRole('img', { name: /^Box plot of the intervals/ }).waitFor();

    // The API agrees: the dashboard has both metrics, in order, and its run answers both.
    const list = await srv.api('GET', `/api/v1/projects/${project}/dashboards`);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.dashboards.length, 1);
    assert.deepEqual(list.body.dashboards[0].items.map((x) => x.width), [2, 1]);

    // A saved paths metric opens again in its analysis, and runs.
    await intervalItem.getByRole('button', { name: 'Open View to buy time in its analysis' }).click();
    await page.waitForURL(`${srv.url}/analysis/interval`);
    await page.getByRole('table', { name: 'Interval quantiles' }).waitFor();
    // The event pickers fill in once the schema has loaded (until then they read "Loading…").
    const startEvent = page.getByLabel('Start event (A)', { exact: true });
    await waitFor(async () => (await startEvent.inputValue()) !== 'Loading…', 10000);
    assert.equal(await startEvent.inputValue(), 'ViewFund');

    assert.deepEqual(c.errors.filter((e) => !/status of 40[134]/.test(e)), [], 'no page errors');
  } finally {
    await c.close();
  }
});
