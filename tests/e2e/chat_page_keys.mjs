// The chat page on a server with keys on: it asks for a key, keeps it in the tab's session
// storage only, answers with it, and says plainly what 401, 403 and 429 mean.
import puppeteer from 'puppeteer-core';
import assert from 'node:assert/strict';

const url = process.env.CITADEL_URL;
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let passed = 0, failed = 0;
async function check(name, fn) {
  try { await fn(); console.log('ok -', name); passed++; } catch (e) { console.log('FAIL -', name, e?.stack || e); failed++; }
}
const ask = async (page, text) => {
  const before = await page.$$eval('.assistant, .error', els => els.length);
  await page.type('#input', text);
  await page.click('#send');
  await page.waitForFunction(n => {
    const all = document.querySelectorAll('.assistant, .error');
    return all.length > n && ['done', 'error'].includes(all[all.length - 1].dataset.state);
  }, { timeout: 30000 }, before);
  return page.$$eval('.assistant, .error', els => ({ cls: els.at(-1).className, text: els.at(-1).textContent }));
};
try {
  const page = await browser.newPage();
  await check('without a key the page asks for one (401 shown plainly)', async () => {
    await page.goto(url + '/', { waitUntil: 'networkidle0' });
    await page.waitForFunction(() => getComputedStyle(document.getElementById('keybox')).display !== 'none');
    assert.match(await page.$eval('#status', el => el.textContent), /^401 – no valid API key/);
  });
  await check('a wrong key is refused and the box stays', async () => {
    await page.type('#key', 'ctd_000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
    await page.click('#usekey');
    await page.waitForFunction(() => /invalid|not valid/.test(document.getElementById('status').textContent));
  });
  await check('with the user key the models load and a question is answered', async () => {
    await page.type('#key', process.env.USER_KEY);
    await page.click('#usekey');
    await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    assert.equal(await page.$eval('#keybox', el => getComputedStyle(el).display), 'none');
    const stored = await page.evaluate(() => [sessionStorage.getItem('citadel_key'), localStorage.length, document.cookie]);
    assert.deepEqual(stored, [process.env.USER_KEY, 0, ''], 'the key lives in session storage only');
    await page.$eval('#temperature', el => { el.value = '0'; });
    await page.$eval('#max_tokens', el => { el.value = '8'; });
    const a = await ask(page, 'Tell me about Lily.');
    assert.equal(a.cls, 'msg assistant');
    assert.ok(a.text.length > 0);
  });
  await check('over the key\'s requests per minute: 429 with the wait', async () => {
    const a = await ask(page, 'Again?');  // the key allows 1 request per minute (listing models does not count)
    assert.equal(a.cls, 'msg error', a.text);
    assert.match(a.text, /429 – over the key's limit, try again in \d+ s/);
  });
  await check('an auditor key may not chat: 403 said plainly', async () => {
    const other = await browser.newPage();  // a new tab starts without a key
    await other.goto(url + '/', { waitUntil: 'networkidle0' });
    await other.waitForFunction(() => getComputedStyle(document.getElementById('keybox')).display !== 'none');
    await other.type('#key', process.env.AUDITOR_KEY);
    await other.click('#usekey');
    await other.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    const a = await ask(other, 'Hello?');
    assert.equal(a.cls, 'msg error');
    assert.match(a.text, /^Error: 403 – this key may not do that/);
  });
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
