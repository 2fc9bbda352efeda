// Drives a running `citadel serve` with the official openai client. Prints "N passed, M failed".
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import fs from 'node:fs';

const baseURL = process.env.CITADEL_URL + '/v1';
const client = new OpenAI({ baseURL, apiKey: 'unused-no-auth', maxRetries: 0 });
const generated = JSON.parse(fs.readFileSync(process.env.GENERATE_JSON, 'utf8'));
let passed = 0, failed = 0;
async function test(name, fn) {
  try { await fn(); passed++; console.log('ok -', name); }
  catch (e) { failed++; console.log('FAIL -', name, '\n ', e?.stack || e); }
}

await test('models lists the configured id', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map(m => m.id), ['stories']);
});

await test('completions greedy equals citadel generate', async () => {
  const r = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 48, temperature: 0 });
  assert.equal(r.choices[0].text, generated.text);
  assert.equal(r.usage.prompt_tokens, generated.prompt_ids.length);
  assert.equal(r.usage.completion_tokens, generated.ids.length);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

await test('completions stream concatenates to the same text', async () => {
  const stream = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 48, temperature: 0, stream: true });
  let text = '', finish = null;
  for await (const chunk of stream) { text += chunk.choices[0]?.text ?? ''; finish = chunk.choices[0]?.finish_reason ?? finish; }
  assert.equal(text, generated.text);
  assert.equal(finish, 'length');
});

let chatText;
await test('chat completion returns an assistant message with exact usage', async () => {
  const r = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 20, temperature: 0 });
  chatText = r.choices[0].message.content;
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof chatText, 'string');
  assert.ok(chatText.length > 0);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 20);
  assert.ok(r.usage.prompt_tokens > 5);
});

await test('chat stream (with usage) matches the non-streamed answer', async () => {
  const stream = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 20, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, roles = 0;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const d = chunk.choices[0]?.delta;
    if (d?.role) roles++;
    text += d?.content ?? '';
  }
  assert.equal(text, chatText);
  assert.equal(roles, 1);
  assert.equal(usage.completion_tokens, 20);
});

await test('same seed gives the same sampled text; n returns n choices', async () => {
  const ask = () => client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Once' }], max_tokens: 24, temperature: 0.9, seed: 7, n: 2 });
  const a = await ask(), b = await ask();
  assert.equal(a.choices.length, 2);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.equal(a.choices[1].message.content, b.choices[1].message.content);
});

await test('stop strings end the answer before them', async () => {
  const r = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 48, temperature: 0, stop: ['Lily'] });
  assert.equal(r.choices[0].text, ', there was a little girl named ');
  assert.equal(r.choices[0].finish_reason, 'stop');
});

await test('logprobs and top_logprobs', async () => {
  const r = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 5);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].token, t.token);
  }
  // Streamed: each chunk carries its token's logprobs, the same as the non-streamed answer.
  const stream = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3, stream: true });
  const streamed = [];
  for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed.map(t => t.token), lp.map(t => t.token));
  for (let i = 0; i < lp.length; i++) assert.ok(Math.abs(streamed[i].logprob - lp[i].logprob) < 1e-4);
});

await test('embeddings (base64 by default in the client) are unit vectors', async () => {
  const r = await client.embeddings.create({ model: 'stories', input: ['hello there', 'Once upon a time'] });
  assert.equal(r.data.length, 2);
  const v = r.data[0].embedding;
  assert.equal(v.length, 64);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  const f = await client.embeddings.create({ model: 'stories', input: 'hello there', encoding_format: 'float' });
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(f.data[0].embedding[i] - v[i]) < 1e-6);
  assert.ok(r.usage.prompt_tokens > 0);
});

await test('json_object output is a JSON object (or its prefix when cut)', async () => {
  const r = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'JSON please' }], max_tokens: 60, temperature: 0, response_format: { type: 'json_object' } });
  const text = r.choices[0].message.content.trim();
  assert.ok(text.startsWith('{'), text);
  if (r.choices[0].finish_reason === 'stop') JSON.parse(text);
});

await test('json_schema output follows the schema; an unsupported schema is a 400 naming it', async () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' }, mood: { enum: ['happy', 'sad'] }, n: { type: 'integer' } },
    required: ['ok', 'mood', 'n'], additionalProperties: false };
  const r = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'JSON please' }], max_tokens: 80,
    temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } } });
  const text = r.choices[0].message.content.trim();
  assert.equal(r.choices[0].finish_reason, 'stop', text);
  const v = JSON.parse(text);
  assert.deepEqual(Object.keys(v).sort(), ['mood', 'n', 'ok'], text);
  assert.equal(typeof v.ok, 'boolean');
  assert.ok(['happy', 'sad'].includes(v.mood), text);
  assert.ok(Number.isInteger(v.n), text);
  await assert.rejects(client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }],
    response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: { type: 'array', prefixItems: [{}] } } } }),
    e => e.status === 400 && e.error?.param === 'response_format.json_schema.schema' && /prefixItems/.test(e.message));
});

await test('errors: unknown model 404, wrong type 400 naming the field, context overflow 400', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    e => e.status === 404 && e.error?.code === 'model_not_found');
  await assert.rejects(client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }),
    e => e.status === 400 && e.error?.param === 'temperature');
  await assert.rejects(client.completions.create({ model: 'stories', prompt: 'word '.repeat(400), max_tokens: 4 }),
    e => e.status === 400 && e.error?.code === 'context_length_exceeded' && /128/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'stories', messages: 'nope' }),
    e => e.status === 400 && e.error?.param === 'messages');
});

await test('16 simultaneous streaming clients get their own single-client outputs', async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `Story ${i}: Once upon a time, a ${['cat', 'dog', 'bird', 'fish'][i % 4]} named ${'ABCDEFGHIJKLMNOP'[i]}`);
  const single = [];
  for (const p of prompts) {
    const r = await client.completions.create({ model: 'stories', prompt: p, max_tokens: 32, temperature: 0 });
    single.push(r.choices[0].text);
  }
  const streamed = await Promise.all(prompts.map(async p => {
    const s = await client.completions.create({ model: 'stories', prompt: p, max_tokens: 32, temperature: 0, stream: true });
    let t = '';
    for await (const c of s) t += c.choices[0]?.text ?? '';
    return t;
  }));
  for (let i = 0; i < 16; i++) assert.equal(streamed[i], single[i], `client ${i}`);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
