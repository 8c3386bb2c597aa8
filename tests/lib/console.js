'use strict';
// Drives the built web console (web/dist, served by `sextant serve --console-dir`) in headless
// Debian Chromium with playwright-core: a fresh browser profile per call.
//
//   const { CONSOLE_DIR, consoleBuilt, openConsole } = require('../lib/console');
//   const c = await openConsole(srv.url);     // c.page at /login
//   await c.signInWithToken(srv.token);        // lands on the overview
//   await c.signInWithPassword('ana', 'pw…');   // or with an account
//   await c.close();

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { chromium } = require('playwright-core');
const { REPO, BIN } = require('./server');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CONSOLE_DIR = process.env.SEXTANT_CONSOLE_DIR || path.join(REPO, 'web', 'dist');
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--no-first-run', '--disable-component-update', '--disable-sync'];

// Why the console tests cannot run here, or null when they can.
function skipReason() {
  if (!fs.existsSync(path.join(CONSOLE_DIR, 'index.html'))) {
    return `${CONSOLE_DIR}/index.html is missing: build the console first (cd web && npm ci && npm run build)`;
  }
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`;
  if (!fs.existsSync(BIN)) return `no sextant binary at ${BIN}`;
  let help = '';
  try { help = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' }); } catch (e) { help = String(e.stdout || ''); }
  if (!help.includes('--console-dir')) return 'this sextant binary has no `serve --console-dir`';
  return null;
}

async function openConsole(baseUrl, { locale } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-console-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: LAUNCH_ARGS,
    viewport: { width: 1400, height: 1000 },
    ...(locale ? { locale } : {}),
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(`${baseUrl}/login`);
  return {
    context,
    page,
    errors,
    // Signs in with a pasted API token, in whichever language the page shows.
    async signInWithToken(token) {
      await page.getByRole('tab', { name: /^(API 令牌登录|Sign in with an API token)$/ }).click();
      await page.getByLabel(/^(API 令牌|API token)$/).fill(token);
      await page.getByRole('button', { name: /^(使用令牌登录|Sign in with token)$/ }).click();
      await page.waitForURL(`${baseUrl}/`);
    },
    // Signs in with an account's name and password, in whichever language the page shows.
    async signInWithPassword(name, password) {
      await page.getByLabel(/^(账号|Account name)$/).fill(name);
      await page.getByLabel(/^(密码|Password)$/).fill(password);
      await page.getByRole('button', { name: /^(登录|Sign in)$/ }).click();
      await page.waitForURL(`${baseUrl}/`);
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

module.exports = { openConsole, skipReason, CONSOLE_DIR, CHROMIUM };
