// What the console's browser tests share: the environment they run in (CONSOLE_URL, CA_FILE,
// SCREENSHOT_DIR), Debian's chromium launched through puppeteer-core, a check that prints one line
// and throws at the first failure, axe-core on a screen, and its screenshot.
import { readFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const base = process.env.CONSOLE_URL;
export const caPem = readFileSync(process.env.CA_FILE, 'utf8');
export const shots = process.env.SCREENSHOT_DIR ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(shots, { recursive: true });

export function check(ok, what) {
  if (!ok) throw new Error('FAILED: ' + what);
  console.log('ok   ' + what);
}

export async function axe(page, screen) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  for (const v of result.violations) {
    console.log(`axe  ${screen}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length})`);
  }
  check(!result.violations.some((v) => v.impact === 'serious' || v.impact === 'critical'),
    `axe finds nothing serious or critical on ${screen}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(shots, name.replace(/\W+/g, '-') + '.png'), fullPage: true });
}

// The appliance's CA is not installed in the browser: the tests compare the certificate the
// console offers with the API's, byte for byte.
export function launch() {
  return puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
    acceptInsecureCerts: true,
    defaultViewport: { width: 1280, height: 800 },
  });
}
