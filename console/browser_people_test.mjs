// An engineer's whole day in a real browser, with two other people: Debian's chromium driven by
// puppeteer-core, each person signed in from an incognito context of their own, axe-core run on
// each screen. Alice downloads the appliance certificate from My Profile, creates a token and
// copies its four exports, asks for access to a record that needs approval; Bob approves it in
// his browser and her screen shows it without a reload; the real AWS CLI then runs through the
// proxy with exactly those exports (against the AWS stand-in); she finds her session in the
// Sessions screen with its commands, and revokes her token. In Records she sees the records she
// holds a grant on (and no other), stars one, finds it under Favorites and reads its exports;
// pamproxyd restarts meanwhile and she is still signed in, and her sign-out ends the session
// for good. An admin sees her session too, the audit chain verified, the requests on the
// dashboard, and every user's tokens, and finally disables her: her next AWS CLI call and her
// console are refused. Run by tests/integration/test_console.py against a running pamproxyd,
// after it made the record with an approval policy, a second record she may view and a third
// she may not, alice (a grant to connect), bob (an approver) and their sign-in tokens:
//
//   CONSOLE_URL=https://127.0.0.1:PORT CA_FILE=ca.pem RECORD=NAME VIEW_RECORD=NAME \
//   HIDDEN_RECORD=NAME USER_HOME=dir AWS_CLI_CONFIG=file USER_TOKEN=ID:SECRET \
//   APPROVER_TOKEN=ID:SECRET ADMIN_TOKEN=ID:SECRET SCREENSHOT_DIR=dir \
//   node console/browser_people_test.mjs
//
// Prints one line per check and exits non-zero at the first failure. To have pamproxyd
// restarted it prints RESTART_PAMPROXYD and waits for a line on its standard input.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { axe, base, caPem, check, launch, shot, shots } from './browser_util.mjs';

const { RECORD: record, USER_HOME: home, AWS_CLI_CONFIG: awsConfig } = process.env;
const { VIEW_RECORD: viewRecord, HIDDEN_RECORD: hiddenRecord } = process.env;
const MARKUP = '<img src=x onerror=alert(1)>';
const BUCKET = 'people-bucket';
const KEY = '2026/12/report.csv';

// A bearer-token call outside the browser, as pamctl makes it (or, with `headers`, one that
// carries what a browser would): its status (and, when not 200, the answer printed).
function call(method, path, bearer, headers = { Authorization: 'Bearer ' + bearer }) {
  return new Promise((resolve, reject) => {
    const req = request(base + '/api/v1/' + path,
      { method, headers, ca: caPem }, (res) => {
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

// "export NAME='value'" lines (values quoted for sh as the console writes them) as an object.
function parseExports(lines) {
  const env = {};
  for (const line of lines.split('\n')) {
    const m = /^export ([A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  return env;
}

// The AWS CLI as the engineer's shell runs it: her four exports, her home; nothing else of ours.
function aws(exports, ...args) {
  const env = {
    PATH: process.env.PATH, HOME: home, AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1', ...exports,
  };
  const r = spawnSync('/usr/bin/aws', args, { env, encoding: 'utf8', timeout: 120000 });
  check(r.status === 0, `aws ${args.join(' ')} through the proxy: ${r.status} ${r.stderr || ''}`);
  return r.stdout;
}

// The AWS CLI that must be refused: its error output.
function awsRefused(exports, ...args) {
  const env = {
    PATH: process.env.PATH, HOME: home, AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1', ...exports,
  };
  const r = spawnSync('/usr/bin/aws', args, { env, encoding: 'utf8', timeout: 120000 });
  check(r.status !== 0, `aws ${args.join(' ')} through the proxy is refused`);
  return r.stderr;
}

// Asks the test that started pamproxyd to restart it, and waits until it has.
const stdinLines = createInterface({ input: process.stdin });
async function restartPamproxyd() {
  console.log('RESTART_PAMPROXYD');
  await once(stdinLines, 'line');
}

// The names in the Records list, in order.
const recordNames = (page) => page.$$eval('#records .record-name', (cs) => cs.map((c) => c.textContent));

// Clicks Search until the session list shows a session of `user` with at least `requests`
// requests (the session indexer follows the audit log every 500 ms).
async function findSession(page, requests) {
  for (let i = 0; i < 60; ++i) {
    await page.click('#session-search');
    await new Promise((r) => setTimeout(r, 250));
    const id = await page.evaluate((n) => {
      const row = [...document.querySelectorAll('tr[data-session]')]
        .find((r) => Number(r.children[5].textContent) >= n);
      return row ? row.dataset.session : '';
    }, requests);
    if (id) return id;
  }
  throw new Error('FAILED: no session with ' + requests + ' requests appeared');
}

// What docs/console.md shows: the window as the user sees it (1280x800), not the whole page.
async function docShot(page, name) {
  await page.screenshot({ path: join(shots, name + '.png') });
}

// Opens a session's report and returns its command lines.
async function openSession(page, id) {
  await page.click(`tr[data-session="${id}"] .open-session`);
  await page.waitForSelector(`#detail-${id} .command-line`);
  return page.$$eval(`#detail-${id} .command-line code`, (cs) => cs.map((c) => c.textContent));
}

const browser = await launch();
try {
  const user = await signIn(browser, process.env.USER_TOKEN);
  check(JSON.stringify(await user.$$eval('nav a', (as) => as.map((a) => a.textContent))) ===
    JSON.stringify(['Dashboard', 'My Profile', 'Tokens', 'Access requests', 'Records', 'Sessions']),
  'an engineer is offered her screens, no administration');
  await user.waitForSelector('#requests-pending');
  await axe(user, 'dashboard');
  await shot(user, 'dashboard');

  // My Profile: the certificate, downloaded where her exports will say it is.
  await go(user, '/profile');
  await user.waitForFunction(() => /^[0-9A-F:]{95}$/.test(document.querySelector('#ca-fingerprint')?.textContent || ''));
  const saved = join(home, '.aws', 'pamproxy-ca.pem');
  rmSync(saved, { force: true });
  const cdp = await user.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: join(home, '.aws'),
    browserContextId: user.browserContext().id });
  await user.click('#ca-download');
  for (let i = 0; i < 200 && !existsSync(saved); ++i) await new Promise((r) => setTimeout(r, 50));
  const shown = await text(user, '#ca-fingerprint');
  check(existsSync(saved) && new X509Certificate(readFileSync(saved)).fingerprint256 === shown,
    'the downloaded certificate has the fingerprint My Profile shows');
  await axe(user, 'my profile');
  await shot(user, 'profile');

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
  // She may view two records: the one she asked access to is chosen for the exports.
  await user.waitForFunction(() => document.querySelectorAll('#export_record option').length === 2);
  await user.select('#export_record', record);
  await user.waitForFunction((r) => document.querySelector('#export_record')?.value === r, {}, record);
  await user.click('#copy-secret');
  await user.waitForFunction(() => document.querySelector('#new-token [role=status]').textContent.trim() !== '');
  check(await user.evaluate(() => navigator.clipboard.readText()) === secret, 'Copy secret puts the secret on the clipboard');
  await user.$eval('#export_home', (e) => { e.value = ''; });
  await user.type('#export_home', home);
  await user.click('#copy-exports');
  await user.waitForFunction(() => document.querySelector('#new-token [role=status]').textContent.includes('exports'));
  const copied = await user.evaluate(() => navigator.clipboard.readText());
  check(copied === await text(user, '#new-exports'), 'Copy the exports puts the four exports on the clipboard');
  const exports = parseExports(copied);
  const proxyPort = new URL(base).hostname + ':' + (await user.evaluate(async () =>
    (await (await fetch('/api/v1/console/session')).json()).proxy_port));
  check(JSON.stringify(Object.keys(exports)) === JSON.stringify(['HTTPS_PROXY', 'AWS_CA_BUNDLE',
    'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) && exports.HTTPS_PROXY === proxyPort &&
    exports.AWS_CA_BUNDLE === saved && exports.AWS_ACCESS_KEY_ID === `${newId}#${record}` &&
    exports.AWS_SECRET_ACCESS_KEY === secret,
  'the four exports name the proxy, the saved certificate, token#record and the secret');
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
  await user.waitForFunction(() => document.querySelectorAll('#request_record option').length === 2);
  await user.select('#request_record', await user.$eval('#request_record', (s, r) =>
    [...s.options].find((o) => o.text === r).value, record));
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

  // Her shell: the AWS CLI with exactly the exports she copied.
  const file = join(home, 'report.csv');
  writeFileSync(file, 'month,amount\n2026-11,42\n');
  aws(exports, 's3', 'mb', `s3://${BUCKET}`);
  aws(exports, 's3', 'cp', file, `s3://${BUCKET}/${KEY}`);
  check(aws(exports, 's3', 'ls', `s3://${BUCKET}/2026/12/`).includes('report.csv'), 'aws s3 ls lists the copied file');

  // Sessions: hers, with the commands she typed.
  await go(user, '/sessions');
  await user.waitForSelector('#session-search');
  check(await user.$('#session_user') === null, 'an engineer is offered no user filter');
  const sessionId = await findSession(user, 3);
  const lines = await openSession(user, sessionId);
  check(lines.length === 3 && lines[0] === `aws s3 mb -> s3://${BUCKET}` &&
    lines[1] === `aws s3 cp -> s3://${BUCKET}/${KEY}` && lines[2] === `aws s3 ls -> s3://${BUCKET}`,
  'her session lists the commands she typed: ' + lines.join(' | '));
  const ops = await user.$$eval(`#detail-${sessionId} .operations td:first-child`, (cs) => cs.map((c) => c.textContent));
  const events = await user.$$eval(`#detail-${sessionId} .events tbody tr`, (rs) => rs.length);
  check(ops.includes('PutObject') && ops.includes('ListObjectsV2') && events === 3,
    `each command opens to its operations and events (${ops.join(', ')}; ${events} events)`);
  await axe(user, 'sessions');
  await shot(user, 'session-report');
  await user.$eval('#session-list-heading', (e) => e.scrollIntoView());
  await docShot(user, 'console-sessions');
  await user.type('#session_resource', 'people-bucket');
  await user.click('#session-search');
  await user.waitForSelector('#session_resource-error');
  check((await text(user, '#session_resource-error')).includes('ARN pattern'), 'a resource that is no ARN pattern is refused next to its field');
  await user.$eval('#session_resource', (e) => { e.value = ''; });
  await user.type('#session_resource', 'arn:aws:s3:::other-bucket/*');
  await user.click('#session-search');
  await user.waitForSelector('#no-sessions');
  await user.$eval('#session_resource', (e) => { e.value = ''; });
  await user.type('#session_resource', `arn:aws:s3:::${BUCKET}/2026/*`);
  await user.click('#session-search');
  await user.waitForSelector(`tr[data-session="${sessionId}"]`);
  check(true, 'the resource filter keeps the sessions that touched a matching resource');

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

  // Records: hers only, her star, Favorites, and the exports of one.
  const [signInId] = process.env.USER_TOKEN.split(':');
  await go(user, '/records');
  await user.waitForSelector('#records .record-name');
  const mine = (await recordNames(user)).sort();
  check(JSON.stringify(mine) === JSON.stringify([record, viewRecord].sort()) && !mine.includes(hiddenRecord),
    'Records shows her the records she holds a grant on, no other: ' + mine.join(', '));
  check(await user.$('#record-add') === null && await user.$('.record-edit') === null &&
    await user.$('.record-access') === null, 'an engineer is offered no add, edit or access action');
  await user.evaluate((n) => [...document.querySelectorAll('#records tbody tr')]
    .find((r) => r.querySelector('.record-name').textContent === n).querySelector('.star').click(), viewRecord);
  await user.waitForFunction((n) => [...document.querySelectorAll('#records tbody tr')]
    .some((r) => r.querySelector('.record-name').textContent === n &&
      r.querySelector('.star').getAttribute('aria-pressed') === 'true'), {}, viewRecord);
  await user.click('#show-favorites');
  await user.waitForFunction((n) => {
    const names = [...document.querySelectorAll('#records .record-name')].map((c) => c.textContent);
    return names.length === 1 && names[0] === n;
  }, {}, viewRecord);
  check(true, 'she stars a record and Favorites shows it alone');
  await user.click('#records .record-use');
  await user.waitForSelector('#record-exports');
  const useExports = parseExports(await text(user, '#record-exports'));
  check(useExports.AWS_ACCESS_KEY_ID === `${signInId}#${viewRecord}` && useExports.HTTPS_PROXY === proxyPort &&
    (await text(user, '#record-exports')).includes('read -rs AWS_SECRET_ACCESS_KEY'),
  'Use shows the record\'s exports as pamctl env prints them');
  await user.click('#show-all');
  await user.waitForFunction(() => document.querySelectorAll('#records .record-name').length === 2);
  await axe(user, 'records (engineer)');
  await shot(user, 'records-engineer');
  await docShot(user, 'console-records');

  // pamproxyd restarts: she is still signed in, her star kept; signing out ends it for good.
  const cookie = (await user.cookies()).find((c) => c.name === '__Host-pamproxy');
  await restartPamproxyd();
  await user.reload({ waitUntil: 'networkidle0' });
  await user.waitForSelector('nav[aria-label=Main]');
  await go(user, '/records');
  await user.click('#show-favorites');
  await user.waitForFunction((n) => [...document.querySelectorAll('#records .record-name')]
    .map((c) => c.textContent).join() === n, {}, viewRecord);
  check(cookie && (await call('GET', 'whoami', null, { Cookie: `${cookie.name}=${cookie.value}` })) === 200,
    'after a restart of pamproxyd she is still signed in, her favorite kept');
  await user.click('#sign-out');
  await user.waitForSelector('form #token_id');
  check((await call('GET', 'whoami', null, { Cookie: `${cookie.name}=${cookie.value}` })) === 401,
    'signed out, the old cookie is refused: the session is gone, not only the cookie');
  const again = await signIn(browser, process.env.USER_TOKEN);

  // The admin: the dashboard's counters, her session, the audit chain.
  const admin = await signIn(browser, process.env.ADMIN_TOKEN);
  await admin.waitForSelector('#per-minute');
  await admin.waitForFunction(() => /^[1-9]\d* request/.test(document.querySelector('#activity-total')?.textContent || ''));
  check((await text(admin, '#tls-path')).includes('TLS') && (await text(admin, '#proxy-state')) === 'enabled',
    'the admin dashboard shows the proxy enabled, its TLS path and the requests per minute');
  await axe(admin, 'dashboard (admin)');
  await shot(admin, 'dashboard-admin');
  await docShot(admin, 'console-dashboard');
  await go(admin, '/sessions');
  await admin.waitForSelector(`tr[data-session="${sessionId}"]`);
  check((await text(admin, `tr[data-session="${sessionId}"] td:nth-child(2)`)) === 'alice', 'the admin sees her session');
  check((await openSession(admin, sessionId))[1] === `aws s3 cp -> s3://${BUCKET}/${KEY}`, 'and its commands');
  await axe(admin, 'sessions (admin)');
  await shot(admin, 'sessions-admin');
  await go(admin, '/audit');
  await admin.waitForFunction(() => document.querySelector('#audit-status')?.dataset.status);
  check(await admin.$eval('#audit-status', (e) => e.dataset.status) === 'valid',
    'the audit screen shows the chain verified: ' + await text(admin, '#audit-status'));
  await admin.type('#audit_resource', `arn:aws:s3:::${BUCKET}/*`);
  await admin.select('#audit_type', 'request.forwarded');
  await admin.click('#audit-search');
  await admin.waitForSelector('tr[data-seq]');
  const found = await admin.$$eval('tr[data-seq] .event-what', (cs) => cs.map((c) => c.textContent));
  check(found.includes('s3:PutObject'), 'the audit search finds her upload by resource: ' + found.join(', '));
  await axe(admin, 'audit');
  await shot(admin, 'audit');
  await docShot(admin, 'console-audit');

  // An admin sees every user's tokens, filters them by user, and creates one for another user.
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

  // The admin disables her: her next AWS CLI call and her console are refused.
  await go(admin, '/users');
  await admin.waitForSelector('#users .user-name');
  const aliceRow = (selector) => admin.evaluate((s) => [...document.querySelectorAll('#users tbody tr')]
    .find((r) => r.querySelector('.user-name').textContent === 'alice').querySelector(s).click(), selector);
  await aliceRow('.disable');
  await admin.waitForSelector('.disable-confirm');
  await aliceRow('.disable-confirm');
  await admin.waitForFunction(() => [...document.querySelectorAll('#users tbody tr')]
    .some((r) => r.querySelector('.user-name').textContent === 'alice' &&
      r.querySelector('.user-state').textContent === 'disabled'));
  const [, signInSecret] = process.env.USER_TOKEN.split(':');
  const refusedCli = awsRefused({ ...exports, AWS_ACCESS_KEY_ID: `${signInId}#${record}`,
    AWS_SECRET_ACCESS_KEY: signInSecret }, 's3', 'ls', `s3://${BUCKET}/2026/12/`);
  check(refusedCli.includes('user alice is disabled'), 'her next AWS CLI call is refused: ' + refusedCli.trim());
  await again.reload({ waitUntil: 'networkidle0' });
  await again.waitForSelector('form #token_id');
  check(await again.$('nav[aria-label=Main]') === null, 'her console is signed out');
  await again.type('#token_id', signInId);
  await again.type('#secret', signInSecret);
  await again.click('button[type=submit]');
  await again.waitForFunction(() => document.querySelector('main, body').textContent.includes('is disabled'));
  check(true, 'and she cannot sign in again');

  check(dialogs.length === 0, 'no dialog fired');
  check(problems.length === 0, 'no CSP violation or script error: ' + problems.join(' | '));
} finally {
  stdinLines.close();
  await browser.close();
}
