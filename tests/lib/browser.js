'use strict';
// Headless Debian Chromium driven by playwright-core, with the test page and the real
// sa-sdk-javascript bundle served from http://app.test/ (via context.route), so that the
// collector on 127.0.0.1 is cross-origin and CORS is exercised for real.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SDK_JS = path.join(path.dirname(require.resolve('sa-sdk-javascript/package.json')), 'dist', 'web', 'sensorsdata.js');
const PAGE_URL = 'http://app.test/index.html';
const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>SA test</title>
<script src="/sensorsdata.js"></script></head>
<body><h1>SA test</h1></body></html>`;

// The flags of the protocol notes §5, plus --disable-features for Chrome's Private/Local Network
// Access checks: here the collector is on loopback while the page's origin (served by route) counts
// as public, so Chromium would block every request ("not a secure context and the resource is in
// more-private address space `loopback`"). In production page and collector are both public.
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights'];

// Opens a fresh browser profile with the app.test page loaded. Returns {context, page, dialogs, close()}.
async function openAppPage() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: LAUNCH_ARGS,
  });
  const sdk = fs.readFileSync(SDK_JS);
  await context.route('http://app.test/**', async (route) => {
    const u = new URL(route.request().url());
    if (u.pathname === '/index.html' || u.pathname === '/') {
      await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: PAGE_HTML });
    } else if (u.pathname === '/sensorsdata.js') {
      await route.fulfill({ status: 200, contentType: 'application/javascript', body: sdk });
    } else {
      await route.fulfill({ status: 404, body: '' });
    }
  });
  const page = context.pages()[0] || await context.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss().catch(() => {}); });
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  await page.goto(PAGE_URL);
  await page.waitForFunction(() => typeof window.sensorsDataAnalytic201505 === 'object');
  // Stop intercepting once the page and the SDK are loaded: while any route is active, Playwright
  // answers CORS preflights itself, and the server's own preflight answer would go untested.
  await context.unrouteAll({ behavior: 'wait' });
  return {
    context,
    page,
    dialogs,
    consoleLines,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

module.exports = { openAppPage, PAGE_URL, SDK_JS, CHROMIUM };
