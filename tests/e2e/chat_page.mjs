// Opens the chat page, types a question, and waits for the streamed answer.
import puppeteer from 'puppeteer-core';
import assert from 'node:assert/strict';

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let passed = 0, failed = 0;
try {
  const page = await browser.newPage();
  // Count the streamed chunks the page receives, to be sure the answer arrived incrementally.
  await page.goto(process.env.CITADEL_URL + '/', { waitUntil: 'networkidle0' });
  assert.equal(await page.title(), 'Citadel chat');
  await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
  await page.$eval('#temperature', el => { el.value = '0'; });
  await page.$eval('#max_tokens', el => { el.value = '40'; });
  await page.type('#input', 'Tell me about Lily.');
  await page.click('#send');
  // While streaming, the answer grows before the request is done.
  const partial = await page.waitForFunction(() => {
    const a = document.querySelector('.assistant');
    return a && a.textContent.length > 0 ? a.textContent : null;
  }, { timeout: 20000 });
  assert.ok((await partial.jsonValue()).length > 0);
  await page.waitForFunction(() => document.querySelector('.assistant')?.dataset.state === 'done', { timeout: 30000 });
  const answer = await page.$eval('.assistant', el => el.textContent);
  const question = await page.$eval('.user', el => el.textContent);
  assert.equal(question, 'Tell me about Lily.');
  assert.ok(answer.length > 20, `answer too short: ${JSON.stringify(answer)}`);
  // The same request through the API gives the same greedy answer.
  const api = await (await fetch(process.env.CITADEL_URL + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me about Lily.' }], temperature: 0, max_tokens: 40 }),
  })).json();
  assert.equal(answer, api.choices[0].message.content);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  console.log('ok - the chat page streams an answer to a typed question');
  passed++;
} catch (e) {
  console.log('FAIL - chat page:', e?.stack || e);
  failed++;
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
