// Drives a running `citadel serve` through the Anthropic Messages, OpenAI Responses and Ollama
// APIs with their official clients, checks that all four chat APIs give the same greedy answer and
// usage, and sends hostile bodies to every new route. Prints "N passed, M failed".
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import assert from 'node:assert/strict';
import fs from 'node:fs';

const url = process.env.CITADEL_URL;
const anthropic = new Anthropic({ baseURL: url, apiKey: 'unused-no-auth', maxRetries: 0 });
const openai = new OpenAI({ baseURL: url + '/v1', apiKey: 'unused-no-auth', maxRetries: 0 });
const ollama = new Ollama({ host: url });
const generated = JSON.parse(fs.readFileSync(process.env.GENERATE_JSON, 'utf8'));
let passed = 0, failed = 0;
async function test(name, fn) {
  try { await fn(); passed++; console.log('ok -', name); }
  catch (e) { failed++; console.log('FAIL -', name, '\n ', e?.stack || e); }
}

const system = 'You tell short stories.';
const question = 'Tell me a story about a cat.';
const N = 24;
const schema = { type: 'object', properties: { ok: { type: 'boolean' }, mood: { enum: ['happy', 'sad'] } },
  required: ['ok', 'mood'], additionalProperties: false };
const weatherTool = { name: 'get_weather', description: 'The weather in a city',
  schema: { type: 'object', properties: { unit: { enum: ['c', 'f'] } }, required: ['unit'], additionalProperties: false } };
function fitsSchema(text) {
  const v = JSON.parse(text);
  assert.deepEqual(Object.keys(v).sort(), ['mood', 'ok'], text);
  assert.equal(typeof v.ok, 'boolean');
  assert.ok(['happy', 'sad'].includes(v.mood), text);
}

// ---- one conversation through the four chat APIs ----
let reference;
await test('greedy answers are byte-identical through chat/completions, messages, responses and /api/chat; usage equal', async () => {
  const chat = await openai.chat.completions.create({ model: 'stories', max_tokens: N, temperature: 0,
    messages: [{ role: 'system', content: system }, { role: 'user', content: question }] });
  const msg = await anthropic.messages.create({ model: 'stories', max_tokens: N, temperature: 0, system,
    messages: [{ role: 'user', content: question }] });
  const resp = await openai.responses.create({ model: 'stories', max_output_tokens: N, temperature: 0,
    instructions: system, input: [{ role: 'user', content: question }] });
  const oll = await ollama.chat({ model: 'stories', options: { temperature: 0, num_predict: N },
    messages: [{ role: 'system', content: system }, { role: 'user', content: question }] });
  reference = { text: chat.choices[0].message.content, usage: chat.usage };
  assert.ok(reference.text.length > 0);
  assert.equal(msg.content.length, 1);
  assert.equal(msg.content[0].text, reference.text);
  assert.equal(resp.output_text, reference.text);
  assert.equal(oll.message.content, reference.text);
  const prompt = chat.usage.prompt_tokens;
  assert.equal(msg.usage.input_tokens + msg.usage.cache_read_input_tokens, prompt);
  assert.equal(resp.usage.input_tokens, prompt);
  assert.equal(oll.prompt_eval_count, prompt);
  for (const n of [msg.usage.output_tokens, resp.usage.output_tokens, oll.eval_count]) assert.equal(n, chat.usage.completion_tokens);
  assert.equal(msg.stop_reason, 'max_tokens');
  assert.equal(resp.status, 'incomplete');
  assert.equal(resp.incomplete_details.reason, 'max_output_tokens');
  assert.equal(oll.done_reason, 'length');
});

// ---- Anthropic Messages ----
await test('anthropic: streaming events in order, same text and usage as the whole answer', async () => {
  const stream = await anthropic.messages.create({ model: 'stories', max_tokens: N, temperature: 0, system, stream: true,
    messages: [{ role: 'user', content: question }] });
  const types = [];
  let text = '', delta;
  for await (const ev of stream) {
    if (types.at(-1) !== ev.type) types.push(ev.type);
    if (ev.type === 'content_block_delta') text += ev.delta.text;
    if (ev.type === 'message_delta') delta = ev;
  }
  // The SDK drops pings: the raw stream shows them.
  assert.deepEqual(types, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop',
    'message_delta', 'message_stop']);
  const raw = await (await fetch(url + '/v1/messages', { method: 'POST', body: JSON.stringify({ model: 'stories', max_tokens: N,
    temperature: 0, system, stream: true, messages: [{ role: 'user', content: question }] }) })).text();
  const events = [...raw.matchAll(/^event: (\S+)\ndata: (.*)$/gm)].map(m => [m[1], JSON.parse(m[2]).type]);
  for (const [e, t] of events) assert.equal(e, t);
  assert.deepEqual([...new Set(events.map(e => e[0]))], ['message_start', 'content_block_start', 'ping', 'content_block_delta',
    'content_block_stop', 'message_delta', 'message_stop']);
  assert.equal(text, reference.text);
  assert.equal(delta.delta.stop_reason, 'max_tokens');
  assert.equal(delta.usage.output_tokens, reference.usage.completion_tokens);
  // The SDK's accumulating helper sees the same.
  const final = await anthropic.messages.stream({ model: 'stories', max_tokens: N, temperature: 0, system,
    messages: [{ role: 'user', content: question }] }).finalMessage();
  assert.equal(final.content[0].text, reference.text);
  assert.equal(final.usage.input_tokens + final.usage.cache_read_input_tokens, reference.usage.prompt_tokens);
});

await test('anthropic: stop_sequences end the answer with stop_reason stop_sequence', async () => {
  const word = reference.text.trim().split(/\s+/).find((w, i) => i > 0 && w.length > 2);
  const r = await anthropic.messages.create({ model: 'stories', max_tokens: N, temperature: 0, system,
    messages: [{ role: 'user', content: question }], stop_sequences: [word] });
  assert.equal(r.content[0].text, reference.text.slice(0, reference.text.indexOf(word)));
  assert.equal(r.stop_reason, 'stop_sequence');
  assert.equal(r.stop_sequence, word);
});

await test('anthropic: count_tokens equals the input tokens of the message', async () => {
  const r = await anthropic.messages.countTokens({ model: 'stories', system, messages: [{ role: 'user', content: question }] });
  assert.equal(r.input_tokens, reference.usage.prompt_tokens);
});

await test('anthropic: tool_choice forces a tool_use block (whole and streamed), tool_result continues', async () => {
  const tools = [{ name: weatherTool.name, description: weatherTool.description, input_schema: weatherTool.schema }];
  const ask = { model: 'stories', max_tokens: 200, temperature: 0, tools, tool_choice: { type: 'tool', name: 'get_weather' },
    messages: [{ role: 'user', content: 'Weather in Paris?' }] };
  const r = await anthropic.messages.create(ask);
  assert.equal(r.stop_reason, 'tool_use');
  const use = r.content.find(b => b.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.ok(['c', 'f'].includes(use.input.unit), JSON.stringify(use.input));
  assert.match(use.id, /^toolu_/);
  const types = new Set();
  const stream = anthropic.messages.stream(ask);
  stream.on('streamEvent', ev => types.add(ev.type === 'content_block_delta' ? ev.delta.type : ev.type));
  const final = await stream.finalMessage();
  assert.ok(types.has('input_json_delta'), [...types].join());
  assert.deepEqual(final.content.find(b => b.type === 'tool_use').input, use.input);
  assert.equal(final.stop_reason, 'tool_use');
  const next = await anthropic.messages.create({ model: 'stories', max_tokens: 8, temperature: 0, tools, messages: [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: r.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Sunny, 21 degrees' }] }] });
  assert.equal(next.role, 'assistant');
  assert.ok(next.usage.input_tokens + next.usage.cache_read_input_tokens > r.usage.input_tokens + r.usage.cache_read_input_tokens);
});

await test('anthropic: output_config json_schema gives JSON that fits', async () => {
  const r = await anthropic.messages.create({ model: 'stories', max_tokens: 80, temperature: 0,
    messages: [{ role: 'user', content: 'JSON please' }], output_config: { format: { type: 'json_schema', schema } } });
  assert.equal(r.stop_reason, 'end_turn');
  fitsSchema(r.content[0].text);
});

await test('anthropic: errors are the SDK\'s own classes with Anthropic\'s error types', async () => {
  await assert.rejects(anthropic.messages.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }] }),
    e => e instanceof Anthropic.BadRequestError && e.status === 400 && e.error?.type === 'error' &&
      e.error?.error?.type === 'invalid_request_error' && /max_tokens/.test(e.message));
  await assert.rejects(anthropic.messages.create({ model: 'nope', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }),
    e => e instanceof Anthropic.NotFoundError && e.error?.error?.type === 'not_found_error');
  await assert.rejects(anthropic.messages.create({ model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: [
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }] }),
    e => e instanceof Anthropic.BadRequestError && /does not take images/.test(e.message));
  await assert.rejects(anthropic.messages.create({ model: 'stories', max_tokens: 4, temperature: 1.5, messages: [{ role: 'user', content: 'x' }] }),
    e => e instanceof Anthropic.BadRequestError && /temperature/.test(e.message));
});

// ---- OpenAI Responses ----
await test('responses: typed stream events in order, ending in response.completed', async () => {
  const stream = await openai.responses.create({ model: 'stories', max_output_tokens: 80, temperature: 0, stream: true,
    input: 'JSON please', text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } } });
  const types = [];
  let text = '', last, seq = -1;
  for await (const ev of stream) {
    assert.equal(ev.sequence_number, seq + 1);
    seq = ev.sequence_number;
    if (types.at(-1) !== ev.type) types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    last = ev;
  }
  assert.deepEqual(types, ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
    'response.completed']);
  fitsSchema(text);
  assert.equal(last.response.status, 'completed');
  assert.equal(last.response.output[0].content[0].text, text);
  assert.ok(last.response.usage.output_tokens > 0);
});

await test('responses: stream of plain text matches the whole answer; a cut answer ends in response.incomplete', async () => {
  const stream = await openai.responses.create({ model: 'stories', max_output_tokens: N, temperature: 0, stream: true,
    instructions: system, input: question });
  let text = '', last;
  for await (const ev of stream) { if (ev.type === 'response.output_text.delta') text += ev.delta; last = ev; }
  assert.equal(text, reference.text);
  assert.equal(last.type, 'response.incomplete');
  assert.equal(last.response.usage.input_tokens, reference.usage.prompt_tokens);
});

await test('responses: tool_choice required gives a function_call item; its output continues the conversation', async () => {
  const tools = [{ type: 'function', name: 'get_weather', description: weatherTool.description, parameters: weatherTool.schema, strict: true }];
  const r = await openai.responses.create({ model: 'stories', max_output_tokens: 200, temperature: 0, tools, tool_choice: 'required',
    input: 'Weather in Paris?' });
  const call = r.output.find(o => o.type === 'function_call');
  assert.ok(call, JSON.stringify(r.output));
  assert.equal(call.name, 'get_weather');
  assert.ok(['c', 'f'].includes(JSON.parse(call.arguments).unit));
  const types = [];
  const stream = await openai.responses.create({ model: 'stories', max_output_tokens: 200, temperature: 0, tools,
    tool_choice: { type: 'function', name: 'get_weather' }, input: 'Weather in Paris?', stream: true });
  for await (const ev of stream) types.push(ev.type);
  assert.ok(types.includes('response.function_call_arguments.delta') && types.includes('response.function_call_arguments.done'), types.join());
  const next = await openai.responses.create({ model: 'stories', max_output_tokens: 8, temperature: 0, tools, input: [
    { role: 'user', content: 'Weather in Paris?' }, call,
    { type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 degrees' }] });
  assert.equal(next.output[0].type, 'message');
});

await test('responses: text.format json_schema output parses and fits', async () => {
  const r = await openai.responses.create({ model: 'stories', max_output_tokens: 80, temperature: 0, input: 'JSON please',
    text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } } });
  assert.equal(r.status, 'completed');
  fitsSchema(r.output_text);
});

await test('responses: stateless refusals and bad items are the SDK\'s BadRequestError naming the field', async () => {
  await assert.rejects(openai.responses.create({ model: 'stories', input: 'x', previous_response_id: 'resp_123' }),
    e => e instanceof OpenAI.BadRequestError && e.param === 'previous_response_id' && /stateless/.test(e.message));
  await assert.rejects(openai.responses.create({ model: 'stories', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:,' }] }] }),
    e => e instanceof OpenAI.BadRequestError && /input_image parts are not supported yet/.test(e.message));
  await assert.rejects(openai.responses.create({ model: 'nope', input: 'x' }), e => e instanceof OpenAI.NotFoundError);
});

// ---- Ollama ----
await test('ollama: chat stream (NDJSON) gives the same text and a last object with real timings', async () => {
  const stream = await ollama.chat({ model: 'stories', stream: true, options: { temperature: 0, num_predict: N },
    messages: [{ role: 'system', content: system }, { role: 'user', content: question }] });
  let text = '', last, parts = 0;
  for await (const part of stream) { text += part.message.content; last = part; parts++; }
  assert.equal(text, reference.text);
  assert.ok(parts > 2);
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'length');
  assert.equal(last.eval_count, reference.usage.completion_tokens);
  assert.equal(last.prompt_eval_count, reference.usage.prompt_tokens);
  for (const k of ['total_duration', 'prompt_eval_duration', 'eval_duration']) assert.ok(Number.isInteger(last[k]) && last[k] > 0, k);
  assert.ok(last.load_duration >= 0);
  assert.ok(last.total_duration >= last.prompt_eval_duration + last.eval_duration);
});

await test('ollama: raw generate equals citadel generate; templated generate streams the same as whole', async () => {
  const raw = await ollama.generate({ model: 'stories', prompt: 'Once upon a time', raw: true, options: { temperature: 0, num_predict: 48 } });
  assert.equal(raw.response, generated.text);
  assert.equal(raw.eval_count, generated.ids.length);
  assert.deepEqual(raw.context, [...generated.prompt_ids, ...generated.ids]);
  const whole = await ollama.generate({ model: 'stories:latest', prompt: question, system, options: { temperature: 0, num_predict: N } });
  assert.equal(whole.response, reference.text);
  let text = '';
  for await (const part of await ollama.generate({ model: 'stories', prompt: question, system, stream: true,
    options: { temperature: 0, num_predict: N } })) text += part.response;
  assert.equal(text, reference.text);
  const stopped = await ollama.generate({ model: 'stories', prompt: 'Once upon a time', raw: true,
    options: { temperature: 0, num_predict: 48, stop: ['Lily'] } });
  assert.equal(stopped.response, ', there was a little girl named ');
  assert.equal(stopped.done_reason, 'stop');
});

await test('ollama: format schema and "json" constrain the answer', async () => {
  const r = await ollama.chat({ model: 'stories', format: schema, options: { temperature: 0, num_predict: 80 },
    messages: [{ role: 'user', content: 'JSON please' }] });
  assert.equal(r.done_reason, 'stop');
  fitsSchema(r.message.content);
  const j = await ollama.generate({ model: 'stories', prompt: 'JSON please', format: 'json', options: { temperature: 0, num_predict: 60 } });
  assert.ok(j.response.trim().startsWith('{'), j.response);
});

await test('ollama: tools and a tool-call history are rendered and answered', async () => {
  const r = await ollama.chat({ model: 'stories', options: { temperature: 0, num_predict: 8 },
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: weatherTool.schema } }],
    messages: [{ role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { unit: 'c' } } }] },
      { role: 'tool', content: 'Sunny', tool_name: 'get_weather' }] });
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.prompt_eval_count > 10);
});

await test('ollama: embed equals /v1/embeddings; tags, show, ps, version', async () => {
  const e = await ollama.embed({ model: 'stories', input: ['hello there', 'Once upon a time'] });
  assert.equal(e.embeddings.length, 2);
  const ref = await openai.embeddings.create({ model: 'stories', input: 'hello there', encoding_format: 'float' });
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(e.embeddings[0][i] - ref.data[0].embedding[i]) < 1e-6);
  assert.equal(e.prompt_eval_count, ref.usage.prompt_tokens + (await openai.embeddings.create({ model: 'stories', input: 'Once upon a time' })).usage.prompt_tokens);
  const tags = await ollama.list();
  assert.deepEqual(tags.models.map(m => m.name), ['stories']);
  assert.equal(tags.models[0].details.family, 'llama');
  assert.ok(tags.models[0].size > 0);
  const show = await ollama.show({ model: 'stories' });
  assert.equal(show.model_info['general.architecture'], 'llama');
  assert.ok(show.model_info['general.parameter_count'] > 100000);
  assert.ok(show.template.length > 0);
  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, 'stories');
  assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+$/);
});

await test('ollama: errors are ResponseError with the status (unknown model 404, bad option 400, pull 501)', async () => {
  await assert.rejects(ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    e => e.name === 'ResponseError' && e.status_code === 404 && /nope/.test(e.error));
  await assert.rejects(ollama.chat({ model: 'stories', options: { temperature: 'hot' }, messages: [{ role: 'user', content: 'x' }] }),
    e => e.name === 'ResponseError' && e.status_code === 400 && /options\.temperature/.test(e.error));
  await assert.rejects(ollama.pull({ model: 'llama3' }), e => e.name === 'ResponseError' && e.status_code === 501 && /copied in by hand/.test(e.error));
  await assert.rejects(ollama.delete({ model: 'stories' }), e => e.name === 'ResponseError' && e.status_code === 501);
  await assert.rejects(ollama.chat({ model: 'stories', messages: [{ role: 'user', content: 'x', images: ['aGk='] }] }),
    e => e.name === 'ResponseError' && e.status_code === 400 && /images are not supported yet/.test(e.error));
});

// ---- hostile bodies: 4xx in the route's own error shape, and the server keeps serving ----
const shapes = {
  anthropic: j => j.type === 'error' && typeof j.error?.type === 'string' && typeof j.error?.message === 'string',
  openai: j => typeof j.error?.message === 'string' && typeof j.error?.type === 'string',
  ollama: j => typeof j.error === 'string',
};
const user = [{ role: 'user', content: 'x' }];
const many = n => Array.from({ length: n }, () => ({ role: 'user', content: 'x' }));
const hostile = [
  ['/v1/messages', 'anthropic', '{"max_tokens": 4, "messages": ['],
  ['/v1/messages', 'anthropic', '[1, 2, 3]'],
  ['/v1/messages', 'anthropic', { max_tokens: 4 }],
  ['/v1/messages', 'anthropic', { max_tokens: 'four', messages: user }],
  ['/v1/messages', 'anthropic', { max_tokens: 0, messages: user }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: 'x' }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: [{ role: 'system', content: 'x' }] }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: [{ role: 'user', content: [{ type: 'text', text: 7 }] }] }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, system: 5 }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, stop_sequences: 'x' }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, stop_sequences: Array(1000).fill('x') }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, tools: Array(1000).fill({ name: 't', input_schema: { type: 'object' } }) }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, tools: [{ name: 't' }] }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, tools: [{ type: 'web_search_20250305', name: 'w' }] }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, tool_choice: { type: 'any' } }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, tool_choice: 'auto' }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: many(60000) }],
  ['/v1/messages', 'anthropic', { max_tokens: 4, messages: user, output_config: { format: { type: 'json_schema', schema: { not: {} } } } }],
  ['/v1/messages/count_tokens', 'anthropic', { messages: [{ role: 'bot', content: 'x' }] }],
  ['/v1/messages/count_tokens', 'anthropic', {}],
  ['/v1/responses', 'openai', '{"input": '],
  ['/v1/responses', 'openai', {}],
  ['/v1/responses', 'openai', { input: 5 }],
  ['/v1/responses', 'openai', { input: [] }],
  ['/v1/responses', 'openai', { input: [{ type: 'computer_call' }] }],
  ['/v1/responses', 'openai', { input: [{ role: 'wizard', content: 'x' }] }],
  ['/v1/responses', 'openai', { input: [{ role: 'user', content: [{ type: 'input_video' }] }] }],
  ['/v1/responses', 'openai', { input: [{ type: 'function_call_output', output: 'x' }] }],
  ['/v1/responses', 'openai', { input: 'x', max_output_tokens: -1 }],
  ['/v1/responses', 'openai', { input: 'x', temperature: 'hot' }],
  ['/v1/responses', 'openai', { input: 'x', text: { format: { type: 'yaml' } } }],
  ['/v1/responses', 'openai', { input: 'x', text: { format: { type: 'json_schema', name: 'a' } } }],
  ['/v1/responses', 'openai', { input: 'x', tools: [{ type: 'web_search' }] }],
  ['/v1/responses', 'openai', { input: 'x', tools: Array(1000).fill({ type: 'function', name: 'f' }) }],
  ['/v1/responses', 'openai', { input: 'x', tool_choice: 'required' }],
  ['/v1/responses', 'openai', { input: 'x', conversation: 'conv_1' }],
  ['/v1/responses', 'openai', { input: many(60000) }],
  ['/v1/chat/completions', 'openai', { messages: [{ role: 'wizard', content: 'x' }] }],
  ['/api/chat', 'ollama', '{"model": "stories", "messages": [}'],
  ['/api/chat', 'ollama', { model: 'stories', messages: 'x' }],
  ['/api/chat', 'ollama', { model: 'stories', messages: [{ role: 'wizard', content: 'x' }] }],
  ['/api/chat', 'ollama', { model: 'stories', messages: [{ content: 'x' }] }],
  ['/api/chat', 'ollama', { model: 'stories', messages: [{ role: 'user', content: 5 }] }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, options: 'fast' }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, options: { num_predict: 'many' } }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, options: { stop: Array(1000).fill('x') } }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, format: 'yaml' }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, tools: [{ type: 'function' }] }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, stream: 'yes' }],
  ['/api/chat', 'ollama', { model: 'stories', messages: many(60000) }],
  ['/api/chat', 'ollama', { model: 'stories', messages: user, options: { num_ctx: 4 } }],
  ['/api/generate', 'ollama', { model: 'stories', prompt: 5 }],
  ['/api/generate', 'ollama', { model: 'stories', prompt: 'x', suffix: 'y' }],
  ['/api/generate', 'ollama', { model: 'stories', prompt: 'x', context: [1, 2, 3] }],
  ['/api/generate', 'ollama', { model: 'stories', prompt: 'x', images: ['aGk='] }],
  ['/api/embed', 'ollama', { model: 'stories', input: 5 }],
  ['/api/embed', 'ollama', { model: 'stories', input: Array(1000).fill('x') }],
  ['/api/embed', 'ollama', { model: 'stories', input: 'x', dimensions: 3 }],
  ['/api/show', 'ollama', {}],
  ['/api/show', 'ollama', { model: 7 }],
  ['/api/create', 'ollama', { model: 'x', from: 'llama3' }],
  ['/api/nonexistent', 'ollama', {}],
];
await test(`hostile bodies (${hostile.length}) get 4xx in the route's error shape`, async () => {
  for (const [path, shape, body] of hostile) {
    const r = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await r.text();
    const what = `${path} ${(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 100)} -> ${r.status} ${text.slice(0, 200)}`;
    assert.ok(r.status >= 400 && r.status < 500 || (path === '/api/create' && r.status === 501), what);
    assert.ok(shapes[shape](JSON.parse(text)), what);
  }
  const health = await fetch(url + '/health');
  assert.equal(health.status, 200);
});

await test('metrics count the new routes by endpoint and model', async () => {
  const text = await (await fetch(url + '/metrics')).text();
  for (const ep of ['/v1/messages', '/v1/responses', '/api/chat', '/api/generate', '/v1/messages/count_tokens'])
    assert.match(text, new RegExp(`citadel_http_requests_total\\{endpoint="${ep}",model="stories",status="200"\\} [1-9]`), ep);
  assert.match(text, /citadel_http_requests_total\{endpoint="\/v1\/messages",model="[^"]*",status="400"\} [1-9]/);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
