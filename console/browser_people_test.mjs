// Tokens and access requests in a real browser, two people at once: a requester and an approver,
// each signed in from a separate incognito context of Debian's chromium (puppeteer-core), axe-core
// injected into each new screen. Run by tests/integration/test_console.py against a running
// pamproxyd, after it made a record with an approval policy, the requester (with a grant to
// connect) and an approver:
//
//   CONSOLE_URL=https://127.0.0.1:PORT CA_FILE=ca.pem RECORD=NAME \
//   USER_TOKEN=ID:SECRET APPROVER_TOKEN=ID:SECRET ADMIN_TOKEN=ID:SECRET SCREENSHOT_DIR=dir \
//   node console/browser_people_test.mjs
//
// Prints one line per check and exits non-zero at the first failure.
import { request } from 'node:https';
import { axe, base, caPem, check, launch, shot } from './browser_util.mjs';

const { RECORD: record } = process.env;
const MARKUP = '<img src=x onerror=alert(1)>';

// A bearer-token call outside the browser, as pamctl makes it: its status (and, when not 200,
// the answer printed).
function call(method, path, bearer) {
  return new Promise((resolve, reject) => {
    const req = request(base + '/api/v1/' + path,
      { method, headers: { Authorization: 'Bearer ' + bearer }, ca: caPem }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode !== 200) console.log(`     ${method} ${path}: ${res.statusCode} ${body}`);
          resolve(res.statusCode);
        });
      });
    req.on('error', reject);
    req.end();
  });
}

const dialogs = [];
const problems = [];

// A page in a context of its own (no cookie shared with the other), signed in with `bearer`.
async function signIn(browser, bearer) {
  const context = await browser.createBrowserContext();
  await context.overridePermissions(base, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
  const page = await context.newPage();
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(base + '/', { waitUntil: 'networkidle0' });
  const [id, secret] = bearer.split(':');
  await page.waitForSelector('form #token_id');
  await page.type('#token_id', id);
  await page.type('#secret', secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav[aria-label=Main]');
  return page;
}

async function go(page, path) {
  await page.click(`nav a[href="${path}"]`);
  await page.waitForFunction((p) => location.pathname === p, {}, path);
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent);

const browser = await launch();
try {
  const user = await signIn(browser, process.env.USER_TOKEN);

  // Tokens: create one, its secret and exports shown once.
  await go(user, '/tokens');
  await user.waitForSelector('#token_name');
  await axe(user, 'tokens');
  await shot(user, 'tokens');
  await user.type('#token_name', MARKUP);
  await user.type('#token_networks', '127.0.0.0/8');
  await user.click('#create-token');
  await user.waitForSelector('#new-secret');
  const secret = await text(user, '#new-secret');
  const newId = await user.$eval('#new-token', (e) => e.dataset.token);
  const accepted = await call('GET', 'whoami', `${newId}:${secret}`);
  check(secret.length > 0 && accepted === 200,
    `the console creates a token whose shown secret the API accepts (${accepted})`);
  await user.waitForFunction((r) => document.querySelector('#export_record')?.value === r, {}, record);
  const exports = await text(user, '#new-exports');
  check(exports.includes('export HTTPS_PROXY=') && exports.includes('export AWS_CA_BUNDLE=') &&
    exports.includes(`export AWS_ACCESS_KEY_ID='${newId}#${record}'`) &&
    exports.includes(`export AWS_SECRET_ACCESS_KEY='${secret}'`), 'the four exports name token#record and the secret');
  await user.click('#copy-secret');
  await user.waitForFunction(() => document.querySelector('#new-token [role=status]').textContent.trim() !== '');
  check(await user.evaluate(() => navigator.clipboard.readText()) === secret, 'Copy secret puts the secret on the clipboard');
  await axe(user, 'token created');
  await shot(user, 'token-created');
  await user.click('#secret-done');
  check(await user.$('#new-secret') === null, 'the secret is gone once saved');
  const row = `tr[data-token="${newId}"]`;
  await user.waitForSelector(row);
  check(await text(user, `${row} .token-name`) === MARKUP && await user.$('main img') === null,
    'a token name with markup is shown as text');

  // Access requests: the user asks, the approver (another browser) approves, the user's screen
  // shows it without a reload.
  await go(user, '/requests');
  await user.waitForSelector('#request_reason');
  await axe(user, 'access requests');
  await user.type('#request_reason', 'quarterly billing export');
  await user.click('#create-request');
  await user.waitForSelector('tr[data-request] .request-state');
  const requestId = await user.$eval('tr[data-request]', (e) => e.dataset.request);
  const state = `tr[data-request="${requestId}"] .request-state`;
  check(await text(user, state) === 'pending', 'the request is pending');
  await shot(user, 'request-pending');

  const approver = await signIn(browser, process.env.APPROVER_TOKEN);
  await go(approver, '/requests');
  await approver.waitForSelector(`tr[data-request="${requestId}"] .approve`);
  check((await text(approver, `tr[data-request="${requestId}"] .request-reason`)) === 'quarterly billing export',
    'the approver sees the request and its reason');
  await axe(approver, 'access requests (approver)');
  await approver.type(`#note-${requestId}`, 'ok for today');
  await approver.click(`tr[data-request="${requestId}"] .approve`);
  await approver.waitForFunction((s) => document.querySelector(s)?.textContent === 'approved', {}, state);
  await shot(approver, 'request-approved-by-approver');
  await user.waitForFunction((s) => document.querySelector(s)?.textContent === 'approved', { timeout: 15000 }, state);
  check(true, "the requester's screen shows the approval without a reload");
  await shot(user, 'request-approved');

  // Revoking the token in the console: the API refuses it.
  await go(user, '/tokens');
  await user.waitForSelector(`${row} .revoke`);
  await user.click(`${row} .revoke`);
  await user.waitForSelector(`${row} .confirm-revoke`);
  await axe(user, 'revoke confirmation');
  await shot(user, 'token-revoke-confirm');
  await user.click(`${row} .confirm-revoke`);
  await user.waitForFunction((s) => document.querySelector(s)?.textContent === 'revoked', {}, `${row} .token-state`);
  check((await call('GET', 'whoami', `${newId}:${secret}`)) === 401, 'the revoked token is refused (401)');

  // An admin sees every user's tokens, filters them by user, and creates one for another user.
  const admin = await signIn(browser, process.env.ADMIN_TOKEN);
  await go(admin, '/tokens');
  await admin.waitForSelector(row);
  const alice = await admin.$eval('#token_filter', (s) => [...s.options].find((o) => o.text === 'alice').value);
  await admin.select('#token_filter', alice);
  await admin.waitForFunction(() => [...document.querySelectorAll('tr[data-token] td:nth-child(3)')]
    .every((c) => c.textContent === 'alice'));
  check((await admin.$$('tr[data-token]')).length === 2, "the admin's user filter shows that user's tokens");
  const bob = await admin.$eval('#token_user', (s) => [...s.options].find((o) => o.text === 'bob').value);
  await admin.select('#token_user', bob);
  await admin.type('#token_name', 'for bob');
  await admin.click('#create-token');
  await admin.waitForSelector('#new-secret');
  await admin.click('#secret-done');
  await admin.select('#token_filter', bob);
  await admin.waitForFunction(() => [...document.querySelectorAll('.token-name')].some((c) => c.textContent === 'for bob'));
  check(true, 'the admin creates a token for another user');
  await axe(admin, 'tokens (admin)');
  await shot(admin, 'tokens-admin');

  check(dialogs.length === 0, 'no dialog fired');
  check(problems.length === 0, 'no CSP violation or script error: ' + problems.join(' | '));
} finally {
  await browser.close();
}
