// Sign-in through the identity provider in a real browser: the console's button, the provider's
// own login and consent pages, and back to the console signed in. Run by
// tests/integration/test_identity_browser.py against a running pamproxyd and a provider:
//
//   CONSOLE_URL=https://127.0.0.1:PORT CA_FILE=ca.pem IDP_ISSUER=https://127.0.0.1:PORT \
//   IDP_LOGIN=... IDP_PASSWORD=... USER_NAME=... SCREENSHOT_DIR=dir \
//   node console/browser_identity_test.mjs
//
// Prints one line per check, then `user <id>` of the signed-in user; exits non-zero at the first
// failure.
import { axe, base, check, launch, shot } from './browser_util.mjs';

const { IDP_ISSUER: issuer, IDP_LOGIN: login, IDP_PASSWORD: password, USER_NAME: userName } =
  process.env;

const problems = [];  // script errors reported by the console

const browser = await launch();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => problems.push(String(e)));
  // Only the appliance and the provider are reached (the provider's pages name a web font).
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith(base + '/') || url.startsWith(issuer + '/')) r.continue();
    else r.abort();
  });

  await page.goto(base + '/', { waitUntil: 'networkidle0' });
  await page.waitForSelector('#idp-signin');
  await axe(page, 'sign-in with the identity provider button');
  await shot(page, 'identity sign-in');

  await Promise.all([page.waitForNavigation(), page.click('#idp-signin')]);
  check(page.url().startsWith(issuer + '/'), 'the button leads to the provider');
  await page.waitForSelector('input[name=login]');
  await page.type('input[name=login]', login);
  await page.type('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(page.url().startsWith(issuer + '/'), 'the provider asks for consent after its login form');
  await page.waitForSelector('button[type=submit]');
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }),
    page.click('button[type=submit]')]);

  await page.waitForSelector('nav[aria-label=Main]');
  check(page.url() === base + '/', `back on the console at / (${page.url()})`);
  check((await page.$eval('.who', (e) => e.textContent)) === userName,
    `the console shows ${userName} signed in`);
  const session = await page.evaluate(async () => {
    const r = await fetch('/api/v1/console/session');
    return { status: r.status, body: await r.json() };
  });
  check(session.status === 200 && session.body.user.name === userName,
    'the session belongs to the provider\'s user');
  await shot(page, 'identity signed in');
  check(problems.length === 0, 'no script errors ' + problems.join(' | '));
  console.log('user ' + session.body.user.id);
} finally {
  await browser.close();
}
