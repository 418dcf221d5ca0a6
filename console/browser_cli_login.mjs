// pamctl login's browser part in a real browser: the start address pamctl printed, the
// provider's own login and consent pages, then through the appliance to pamctl's listener on
// 127.0.0.1. Run by tests/integration/test_identity_cli.py while pamctl waits:
//
//   START_URL=https://127.0.0.1:PORT/auth/oidc/start?cli_port=...  CONSOLE_URL=... CA_FILE=... \
//   IDP_LOGIN=... IDP_PASSWORD=... node console/browser_cli_login.mjs
//
// Prints one line per check; exits non-zero at the first failure.
import { check, launch } from './browser_util.mjs';

const { START_URL: start, IDP_LOGIN: login, IDP_PASSWORD: password } = process.env;

const browser = await launch();
try {
  const page = await browser.newPage();
  // Only loopback is reached (the provider's pages name a web font).
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith('https://127.0.0.1:') || url.startsWith('http://127.0.0.1:')) r.continue();
    else r.abort();
  });
  await page.goto(start);
  await page.waitForSelector('input[name=login]');
  await page.type('input[name=login]', login);
  await page.type('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.waitForSelector('button[type=submit]');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.waitForFunction(
    () => document.body && document.body.innerText.includes('go back to the terminal'),
    { timeout: 20000 });
  const landed = new URL(page.url());
  check(landed.protocol === 'http:' && landed.hostname === '127.0.0.1' &&
        landed.pathname === '/callback' && landed.searchParams.has('code'),
  `the browser ends at pamctl's listener on 127.0.0.1 (${landed.origin}${landed.pathname})`);
} finally {
  await browser.close();
}
