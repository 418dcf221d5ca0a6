// The console's administration screens in a real browser (Debian's chromium driven by
// puppeteer-core, axe-core injected into each screen): an admin walks the product's setup steps,
// enables the proxy (Settings / Parameters), enables the AWS Access Keys record type (Record
// types), adds a record with a reference record and keys (Records), makes a user and a role with a
// member (Users and roles), grants the record to the role, edits its access policy and stars it
// (Records, Access, Favorites), and each change is checked through the API. Run by tests/integration/test_console.py against a running pamproxyd:
//
//   CONSOLE_URL=https://127.0.0.1:PORT TOKEN_ID=... TOKEN_SECRET=... CA_FILE=ca.pem \
//   SCREENSHOT_DIR=dir node console/browser_admin_test.mjs
//
// TOKEN_ID/TOKEN_SECRET are an admin's. Prints one line per check, exits non-zero at the first
// failure.
import { request } from 'node:https';
import { axe, base, caPem, check, launch, shot } from './browser_util.mjs';

const { TOKEN_ID: tokenId, TOKEN_SECRET: secret } = process.env;

const MARKUP = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

// An API call with the admin's bearer token, outside the browser: what took effect.
function api(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${tokenId}:${secret}` };
    const data = body === undefined ? undefined : JSON.stringify(body);
    if (data) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
    const req = request(base + '/api/v1/' + path, { method, headers, ca: caPem }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function records(query = '') {
  return (await api('GET', 'records?limit=1000' + query)).json.items;
}

const dialogs = [];
const problems = [];
const pages = [];  // each screen's HTML, searched for the secret at the end

async function screen(page, name) {
  await axe(page, name);
  await shot(page, name);
  pages.push(await page.content());
}

async function go(page, path) {
  await page.click(`nav a[href="${path}"]`);
  await page.waitForFunction((p) => location.pathname === p, {}, path);
}

async function textOf(page, selector) {
  return page.$eval(selector, (e) => e.textContent);
}

const browser = await launch();
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(8000);  // a step that never happens fails with its line, not the run's timeout
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  // Refused API calls show up as "Failed to load resource" (the sign-in probe's 401, the refused
  // record below): expected. A CSP violation reads "Refused to ...".
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  await page.goto(base + '/', { waitUntil: 'networkidle0' });
  await page.waitForSelector('form #token_id');
  await page.type('#token_id', tokenId);
  await page.type('#secret', secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav[aria-label=Main]');
  const nav = await page.$$eval('nav a', (as) => as.map((a) => a.textContent));
  check(['Settings / Parameters', 'Record types', 'Records'].every((l) => nav.includes(l)),
    'an admin is offered Settings / Parameters, Record types and Records');

  // 1. Settings / Parameters, Proxy section: Disabled -> Enabled, live.
  check((await api('GET', 'settings')).json['proxy.enabled'] === false, 'the proxy starts disabled');
  await go(page, '/settings');
  await page.waitForFunction(() => document.querySelector('#proxy-state')?.textContent.includes('disabled'));
  check((await textOf(page, '#proxy-hint')).includes('no restart'), 'the Proxy section says the change applies live');
  await page.click('#proxy-enabled');
  await page.waitForFunction(() => document.querySelector('#proxy-state').textContent.includes('enabled'));
  check((await api('GET', 'settings')).json['proxy.enabled'] === true, 'Settings / Parameters enabled the proxy (API)');
  await screen(page, 'settings');

  // 4. Record types: enable AWS Access Keys.
  await go(page, '/record-types');
  await page.waitForSelector('#toggle-aws-access-keys');
  await page.click('#toggle-aws-access-keys');
  await page.waitForFunction(() => document.querySelector('.type-state').textContent === 'enabled');
  const types = (await api('GET', 'record-types')).json.items;
  check(types.some((t) => t.name === 'aws-access-keys' && t.enabled), 'Record types enabled AWS Access Keys (API)');
  await screen(page, 'record-types');

  // 5-7. Records: add one with Name, Description, Reference Record, Access Key ID, Secret Key.
  const base_ = await api('POST', 'records', { name: 'shared-base', access_key_id: 'AKIAIOSFODNN7BASE000',
    secret_access_key: 'base-secret-not-shown' });
  check(base_.status === 201, 'a record to reference exists');
  await go(page, '/records');
  await page.waitForSelector('.record-name');
  await screen(page, 'records');
  await page.click('#record-add');
  await page.waitForSelector('form #name');
  await page.type('#name', 'prod-admin');
  await page.type('#description', 'Production account, read-only audits');
  await page.select('#reference_record', base_.json.id);
  await page.type('#access_key_id', 'AKIAIOSFODNN7EXAMPLE');
  await page.type('#secret_access_key', AWS_SECRET);
  await page.type('#aws_account_id', '123456789012');
  await page.type('#tags', 'prod, audit');
  await screen(page, 'record-add');
  await page.click('#record-save');
  await page.waitForFunction(() => [...document.querySelectorAll('.record-name')].some((c) => c.textContent === 'prod-admin'));
  let [added] = await records('&name=prod-admin');
  check(added && added.description === 'Production account, read-only audits' &&
    added.reference_record === base_.json.id && added.access_key_id === 'AKIAIOSFODNN7EXAMPLE' &&
    added.secret_access_key_set === true && added.aws_account_id === '123456789012' &&
    JSON.stringify(added.tags) === '["audit","prod"]', 'the record was added with every field (API)');
  await screen(page, 'records-added');

  // Search by name and by tag (the API's ?name= and ?tag=).
  await page.type('#search-name', 'prod-admin');
  await page.click('#record-search');
  await page.waitForFunction(() => document.querySelectorAll('.record-name').length === 1);
  check((await textOf(page, '.record-name')) === 'prod-admin', 'the name search lists that record only');
  await page.$eval('#search-name', (e) => { e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.type('#search-tag', 'nothing-has-this');
  await page.click('#record-search');
  await page.waitForFunction(() => document.querySelectorAll('.record-name').length === 0);
  await page.$eval('#search-tag', (e) => { e.value = 'audit'; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.click('#record-search');
  await page.waitForFunction(() => document.querySelectorAll('.record-name').length === 1);
  check((await textOf(page, '.record-name')) === 'prod-admin', 'the tag filter lists the tagged record only');
  await page.$eval('#search-tag', (e) => { e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.click('#record-search');
  await page.waitForFunction(() => document.querySelectorAll('.record-name').length === 2);

  // Edit: the secret is not shown back; empty leaves it unchanged.
  await page.evaluate(() => [...document.querySelectorAll('#records tbody tr')]
    .find((r) => r.querySelector('.record-name').textContent === 'prod-admin').querySelector('.record-edit').click());
  await page.waitForSelector('form #name');
  check(await page.$eval('#name', (e) => e.value) === 'prod-admin', 'the edit form holds the record');
  check(await page.$eval('#secret_access_key', (e) => e.value) === '', 'the edit form does not show the secret');
  await page.$eval('#description', (e) => { e.value = 'Production, edited'; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.$eval('#aws_account_id', (e) => { e.value = '12345'; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.click('#record-save');
  await page.waitForSelector('#aws_account_id-error');
  check((await textOf(page, '#aws_account_id-error')).includes('12 digits'), 'an API error is shown next to its field');
  await screen(page, 'record-edit-error');
  await page.$eval('#aws_account_id', (e) => { e.value = '123456789012'; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.click('#record-save');
  await page.waitForSelector('#record-add');
  [added] = await records('&name=prod-admin');
  check(added.description === 'Production, edited' && added.secret_access_key_set, 'the edit took effect, the secret kept (API)');

  // A name with markup is shown as text.
  await page.click('#record-add');
  await page.waitForSelector('form #name');
  await page.type('#name', MARKUP);
  await page.type('#access_key_id', 'AKIAIOSFODNN7MARKUP0');
  await page.type('#secret_access_key', 'markup-secret-value');
  await page.click('#record-save');
  await page.waitForFunction((m) => [...document.querySelectorAll('.record-name')].some((c) => c.textContent === m), {}, MARKUP);
  check(await page.$('main img') === null, 'a record named with markup is shown as text, no element made from it');

  // A 2 MiB description is refused with the API's message and nothing is saved.
  const big = 'x'.repeat(2 << 20);
  const refused = await api('POST', 'records', { name: 'too-big', description: big,
    access_key_id: 'AKIAIOSFODNN7TOOBIG0', secret_access_key: 'big-secret' });
  check(refused.status >= 400, `the API refuses a 2 MiB description (${refused.status})`);
  await page.click('#record-add');
  await page.waitForSelector('form #name');
  await page.type('#name', 'too-big');
  await page.type('#access_key_id', 'AKIAIOSFODNN7TOOBIG0');
  await page.type('#secret_access_key', 'big-secret');
  await page.$eval('#description', (e, v) => { e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); }, big);
  await page.click('#record-save');
  await page.waitForSelector('#record-form-error, #description-error');
  const shown = await textOf(page, '#record-form-error, #description-error');
  check(shown === refused.json.error.message, `the form shows the API's message: ${shown}`);
  check((await records('&name=too-big')).length === 0, 'and nothing was saved (API)');
  await page.$eval('#description', (e) => { e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await screen(page, 'record-refused');

  // Users and roles: a user and a role (its description with markup), the member added.
  await go(page, '/users');
  await page.waitForSelector('#user_name');
  const addUser = async (name) => {
    await page.type('#user_name', name);
    await page.click('#user-add');
    await page.waitForFunction((n) => [...document.querySelectorAll('.user-name')].some((c) => c.textContent === n), {}, name);
  };
  await addUser('engineer-ana');
  await addUser('leaver-bo');
  await page.type('#role_name', 'auditors');
  await page.type('#role_description', MARKUP + SCRIPT);
  await page.click('#role-add');
  await page.waitForFunction(() => [...document.querySelectorAll('.role-name')].some((c) => c.textContent === 'auditors'));
  const users = (await api('GET', 'users?limit=1000')).json.items;
  const ana = users.find((u) => u.name === 'engineer-ana');
  const bo = users.find((u) => u.name === 'leaver-bo');
  let role = (await api('GET', 'roles?limit=1000')).json.items.find((r) => r.name === 'auditors');
  check(ana && bo && !ana.admin && role, 'Users and roles added two users and a role (API)');
  check(role.description === MARKUP + SCRIPT, 'the role description was kept as typed (API)');
  await page.select('#member-' + role.id, ana.id);
  await page.evaluate((id) => document.querySelector('#member-' + id).closest('td').querySelector('.member-add').click(), role.id);
  await page.waitForFunction(() => [...document.querySelectorAll('.member-name')].some((c) => c.textContent === 'engineer-ana'));
  role = (await api('GET', 'roles/' + role.id)).json;
  check(JSON.stringify(role.members) === JSON.stringify([ana.id]), 'the member was added to the role (API)');
  check(await page.$('main img, main script') === null, 'the role description with markup is shown as text');
  await screen(page, 'users');

  // Disable, after a second click: the user is disabled, her token kept (and refused); Enable
  // brings it back.
  const anaToken = await api('POST', 'tokens', { name: 'ana-laptop', user_id: ana.id });
  const anaRow = (selector) => page.evaluate((s) => [...document.querySelectorAll('#users tbody tr')]
    .find((r) => r.querySelector('.user-name').textContent === 'engineer-ana').querySelector(s).click(), selector);
  await anaRow('.disable');
  await page.waitForSelector('.disable-confirm');
  await screen(page, 'users-disable-confirm');
  await anaRow('.disable-confirm');
  await page.waitForFunction(() => document.querySelector('main .notice')?.textContent.includes('disabled'));
  let anaTokens = (await api('GET', 'tokens?user=' + ana.id)).json.items;
  check(anaToken.status === 201 && (await api('GET', 'users/' + ana.id)).json.disabled === true &&
    anaTokens.length === 1 && !anaTokens[0].revoked, 'Disable disabled the user and kept her token (API)');
  await axe(page, 'users (a user disabled)');
  await anaRow('.enable');
  await page.waitForFunction(() => document.querySelector('main .notice')?.textContent.includes('enabled again'));
  anaTokens = (await api('GET', 'tokens?user=' + ana.id)).json.items;
  check((await api('GET', 'users/' + ana.id)).json.disabled === false && !anaTokens[0].revoked,
    'Enable enabled her again, her token as it was (API)');

  // Records: grant the record to the role, star it, find it under Favorites.
  await go(page, '/records');
  await page.waitForSelector('.record-name');
  const rowAction = (name, selector) => page.evaluate((n, s) => [...document.querySelectorAll('#records tbody tr')]
    .find((r) => r.querySelector('.record-name').textContent === n).querySelector(s).click(), name, selector);
  await rowAction('prod-admin', '.record-access');
  await page.waitForSelector('#grant-form');
  await page.waitForSelector('#policy-form');
  await page.select('#grant_kind', 'role');
  await page.select('#grant_subject', role.id);
  await page.click('#grant-add');
  await page.waitForFunction(() => [...document.querySelectorAll('.grant-to')].some((c) => c.textContent === 'role auditors'));
  let grants = (await api('GET', 'grants?record=' + added.id)).json.items;
  check(grants.length === 1 && grants[0].role_id === role.id &&
    JSON.stringify(grants[0].permissions) === '["view","connect"]', 'the record was granted to the role (API)');

  // A grant to a user deleted meanwhile: the API's message, nothing granted.
  await page.select('#grant_kind', 'user');
  await page.select('#grant_subject', bo.id);
  check((await api('DELETE', 'users/' + bo.id)).status === 200, 'the user is deleted meanwhile (API)');
  await page.click('#grant-add');
  await page.waitForSelector('#grant-form-error, #grant_subject-error');
  const gone = await api('POST', 'grants', { user_id: bo.id, record_id: added.id, permissions: ['view'] });
  const goneShown = await textOf(page, '#grant-form-error, #grant_subject-error');
  check(gone.status === 404 && goneShown === gone.json.error.message, `the grant form shows the API's message: ${goneShown}`);
  check((await api('GET', 'grants?record=' + added.id)).json.items.length === 1, 'and nothing more was granted (API)');

  // The access policy: a window, a network, a deny rule with a resource; a bad resource first.
  await page.type('#windows', 'Mon-Fri 08:00-18:00');
  await page.$eval('#time_zone', (e) => { e.value = 'Europe/Berlin'; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.type('#allowed_networks', '10.0.0.0/8');
  await page.click('#rule-add');
  await page.waitForSelector('#rule0-pattern');
  await page.select('#rule0-effect', 'deny');
  await page.type('#rule0-pattern', 's3:DeleteObject');
  await page.type('#rule0-resource', 'prod-bucket/*');
  await page.click('#policy-save');
  await page.waitForSelector('#rule0-resource-error');
  const badRule = await api('PUT', `records/${added.id}/policy`,
    { command_rules: [{ effect: 'deny', pattern: 's3:DeleteObject', resource: 'prod-bucket/*' }] });
  check(badRule.status === 400 && badRule.json.error.field === 'command_rules[0].resource' &&
    (await textOf(page, '#rule0-resource-error')) === badRule.json.error.message,
    'a bad resource pattern is shown next to that rule\'s resource field');
  check((await api('GET', `records/${added.id}/policy`)).status === 404, 'and no policy was saved (API)');
  await screen(page, 'record-access-error');
  await page.$eval('#rule0-resource', (e) => { e.value = 'arn:aws:s3:::prod-*/*'; e.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.click('#policy-save');
  await page.waitForFunction(() => document.querySelector('#policy-form .notice')?.textContent.includes('saved'));
  const policy = (await api('GET', `records/${added.id}/policy`)).json;
  check(JSON.stringify(policy.windows) === '["Mon-Fri 08:00-18:00"]' && policy.time_zone === 'Europe/Berlin' &&
    JSON.stringify(policy.allowed_networks) === '["10.0.0.0/8"]' &&
    JSON.stringify(policy.command_rules) === JSON.stringify([{ effect: 'deny', pattern: 's3:DeleteObject', resource: 'arn:aws:s3:::prod-*/*' }]),
    'the policy was saved with its window, network and deny rule with a resource (API)');
  await screen(page, 'record-access');
  await page.click('#access-close');
  await page.waitForSelector('#record-add');

  const starOf = (name) => page.evaluate((n) => [...document.querySelectorAll('#records tbody tr')]
    .find((r) => r.querySelector('.record-name').textContent === n).querySelector('.star').getAttribute('aria-pressed'), name);
  check(await starOf('prod-admin') === 'false', 'the record starts unstarred');
  await rowAction('prod-admin', '.star');
  await page.waitForFunction(() => [...document.querySelectorAll('#records tbody tr')]
    .some((r) => r.querySelector('.record-name').textContent === 'prod-admin' && r.querySelector('.star').getAttribute('aria-pressed') === 'true'));
  check((await records('&favorites=1')).map((r) => r.name).join() === 'prod-admin', 'the star is the admin\'s favorite (API)');
  await page.click('#show-favorites');
  await page.waitForFunction(() => document.querySelector('#show-favorites').getAttribute('aria-pressed') === 'true' &&
    document.querySelectorAll('.record-name').length === 1);
  check((await textOf(page, '.record-name')) === 'prod-admin', 'Favorites lists the starred record only');
  await screen(page, 'records-favorites');
  await page.click('#show-all');
  await page.waitForFunction(() => document.querySelectorAll('.record-name').length > 1);

  // A record whose name and description carry markup and a script tag: text on the new screens.
  const hostile = await api('POST', 'records', { name: MARKUP + SCRIPT, description: SCRIPT + MARKUP,
    access_key_id: 'AKIAIOSFODNN7HOSTILE', secret_access_key: 'hostile-secret' });
  check(hostile.status === 201, 'a record with markup in its name and description exists (API)');
  await page.click('#show-favorites');
  await page.click('#show-all');
  await page.waitForFunction((m) => [...document.querySelectorAll('.record-name')].some((c) => c.textContent === m), {}, MARKUP + SCRIPT);
  await rowAction(MARKUP + SCRIPT, '.star');
  await page.waitForFunction(() => document.querySelectorAll('.star[aria-pressed="true"]').length === 2);
  await rowAction(MARKUP + SCRIPT, '.record-access');
  await page.waitForSelector('#policy-form');
  check((await textOf(page, '.access-heading')) === 'Access to ' + MARKUP + SCRIPT &&
    (await textOf(page, '.access-description')) === SCRIPT + MARKUP, 'the access screen shows the name and description as typed');
  check(await page.$('main img, main script') === null, 'and makes no element from them');
  await screen(page, 'record-access-markup');
  await page.click('#access-close');
  await page.waitForSelector('#show-favorites');
  await page.click('#show-favorites');
  await page.waitForFunction(() => document.querySelectorAll('.record-name').length === 2);
  check(await page.$('main img, main script') === null, 'Favorites shows the markup as text too');

  check(pages.every((p) => !p.includes(AWS_SECRET)), 'the secret key appears in no page\'s HTML');
  check(dialogs.length === 0, 'no dialog fired');
  check(problems.length === 0, 'no CSP violation or script error: ' + problems.join(' | '));
} finally {
  await browser.close();
}
