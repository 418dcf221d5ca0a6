// The console in a real browser: Debian's chromium driven by puppeteer-core, axe-core injected
// into each screen. Run by tests/integration/test_console.py against a running pamproxyd:
//
//   CONSOLE_URL=https://127.0.0.1:PORT TOKEN_ID=... TOKEN_SECRET=... CA_FILE=ca.pem \
//   SCREENSHOT_DIR=dir node console/browser_test.mjs
//
// Prints one line per check and exits non-zero at the first failure.
import { readFileSync, mkdirSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { axe, base, caPem, check, launch, shot, shots } from './browser_util.mjs';

const { TOKEN_ID: tokenId, TOKEN_SECRET: secret } = process.env;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// An HTTPS call outside the browser (as another site's request would arrive, or a stolen cookie).
function call(method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    if (body) headers = { ...headers, 'Content-Length': Buffer.byteLength(body) };
    const req = request(base + path, { method, headers, ca: caPem }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const dialogs = [];
const problems = [];  // CSP violations and script errors reported by the page

const browser = await launch();
try {
  const page = await browser.newPage();
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  // Refused API calls show up as "Failed to load resource" (the 401 of the first session probe,
  // the 403s below): expected. A CSP violation reads "Refused to ...".
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  // The page and its headers.
  const response = await page.goto(base + '/', { waitUntil: 'networkidle0' });
  const h = response.headers();
  check(response.status() === 200, 'GET / answers 200');
  check(h['content-security-policy'] === CSP, 'Content-Security-Policy is the strict one');
  check((h['strict-transport-security'] || '').startsWith('max-age='), 'Strict-Transport-Security');
  check(h['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options: nosniff');
  check(h['referrer-policy'] === 'no-referrer', 'Referrer-Policy: no-referrer');
  check(h['x-frame-options'] === 'DENY', 'X-Frame-Options: DENY');
  const source = await response.text();
  check(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(source) && !/\son[a-z]+=/i.test(source),
    'index.html has no inline script or event handler attribute');
  check(await page.evaluate(() => [...document.scripts].every((s) => s.src.startsWith(location.origin + '/assets/'))),
    'every script comes from /assets/');
  const route = await call('GET', '/profile');
  check(route.status === 200 && route.text === source, 'a console route (/profile) answers the index');

  // Sign-in.
  await page.waitForSelector('form');
  await axe(page, 'sign-in');
  await shot(page, 'sign-in');
  await page.type('#token_id', tokenId);
  await page.type('#secret', 'not-the-secret');
  await page.click('button[type=submit]');
  await page.waitForSelector('#secret-error');
  check((await page.$eval('#secret-error', (e) => e.textContent)).includes("no REST API token"),
    'a wrong secret is reported next to the secret field');
  await axe(page, 'sign-in with an error');
  await page.$eval('#secret', (e) => { e.value = ''; });
  await page.type('#secret', secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav[aria-label=Main]');
  const cookies = await page.cookies();
  const session = cookies.find((c) => c.name === '__Host-pamproxy');
  check(session && session.httpOnly && session.secure && session.sameSite === 'Strict' &&
    session.path === '/' && !session.domain.startsWith('.'), 'the session cookie is __Host-, HttpOnly, Secure, SameSite=Strict');
  check(await page.evaluate(() => localStorage.length === 0 && sessionStorage.length === 0 &&
    !document.cookie.includes('pamproxy')), 'nothing in browser storage, the cookie unreadable by script');
  const cookieHeader = `__Host-pamproxy=${session.value}`;

  // Dashboard.
  await page.waitForFunction(() => document.querySelector('main dl') && !document.querySelector('main dl').textContent.includes('…'));
  check((await page.$eval('main', (e) => e.textContent)).includes('ok, version'), 'the dashboard shows the appliance state');
  await axe(page, 'dashboard');
  await shot(page, 'dashboard');
  const navLabels = await page.$$eval('nav a', (as) => as.map((a) => a.textContent));
  check(JSON.stringify(navLabels) === JSON.stringify(['Dashboard', 'My Profile', 'Tokens', 'Access requests', 'Records', 'Sessions']),
    'navigation offers what this user may use');

  // My Profile.
  await page.click('nav a[href="/profile"]');
  await page.waitForFunction(() => /^[0-9A-F:]{95}$/.test(document.querySelector('#ca-fingerprint')?.textContent || ''));
  const shown = await page.$eval('#ca-fingerprint', (e) => e.textContent);
  check(shown === new X509Certificate(caPem).fingerprint256, 'My Profile shows the CA certificate SHA-256 fingerprint');
  check(page.url() === base + '/profile', 'the address is /profile');
  await page.waitForSelector('.token-name');
  const names = await page.$$eval('.token-name', (cells) => cells.map((c) => c.textContent));
  check(names.includes('<img src=x onerror=alert(1)>'), 'a token name with markup is rendered as text');
  check(await page.$('main img') === null, 'and no element is made from it');
  await page.type('#record', 'rec-demo');
  const env = await page.$eval('#env-exports', (e) => e.textContent);
  check(env.includes(`export AWS_ACCESS_KEY_ID='${tokenId}#rec-demo'`) && env.includes('export HTTPS_PROXY=') &&
    env.includes('export AWS_CA_BUNDLE=') && !env.includes(secret), 'the exports name token#record and no secret');
  const profileText = await page.$eval('#aws-profile', (e) => e.textContent);
  check(profileText.includes("credential_process = pamctl credential-process --record 'rec-demo' --token-file '/home/alice/") &&
    profileText.includes('ca_bundle = /home/alice/.aws/pamproxy-ca.pem'),
    'the AWS CLI profile snippet uses credential_process and absolute paths');
  await axe(page, 'my profile');
  await shot(page, 'profile');
  await page.setViewport({ width: 375, height: 740 });
  await shot(page, 'profile-narrow');
  await page.setViewport({ width: 1280, height: 800 });

  // The certificate download equals the API's ca.pem.
  const downloads = join(shots, 'downloads');
  rmSync(downloads, { recursive: true, force: true });  // a file of an earlier run would be kept
  mkdirSync(downloads, { recursive: true });
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  await page.click('#ca-download');
  const saved = join(downloads, 'pamproxy-ca.pem');
  for (let i = 0; i < 200 && !existsSync(saved); ++i) await new Promise((r) => setTimeout(r, 50));
  check(existsSync(saved) && readFileSync(saved, 'utf8') === caPem, 'the downloaded certificate is the API\'s ca.pem');

  // CSRF: a cookie call that changes something without the header, or from another origin.
  const noHeader = await page.evaluate(async () => {
    const r = await fetch('/api/v1/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'csrf' }) });
    return r.status;
  });
  check(noHeader === 403, 'a cookie POST without X-Pamproxy-CSRF is refused (403)');
  const csrf = await page.evaluate(async () => (await (await fetch('/api/v1/console/session')).json()).csrf_token);
  const foreign = await call('POST', '/api/v1/tokens', { Cookie: cookieHeader, Origin: 'https://evil.example',
    'X-Pamproxy-CSRF': csrf, 'Content-Type': 'application/json' }, JSON.stringify({ name: 'csrf' }));
  check(foreign.status === 403, 'a cookie POST from another origin is refused (403)');
  check(!foreign.text.includes(session.value), 'the answer does not carry the cookie');

  // Sign out: the old cookie no longer works.
  await page.click('#sign-out');
  await page.waitForSelector('form #token_id');
  const after = await call('GET', '/api/v1/whoami', { Cookie: cookieHeader });
  check(after.status === 401, 'after sign-out the old cookie is refused (401)');
  await shot(page, 'signed-out');

  check(dialogs.length === 0, 'no dialog fired');
  check(problems.length === 0, 'no CSP violation or script error: ' + problems.join(' | '));
  console.log('screenshots: ' + readdirSync(shots).filter((f) => f.endsWith('.png')).join(', '));
} finally {
  await browser.close();
}
