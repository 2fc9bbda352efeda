// Load generator for an OpenAI-compatible server: C concurrent streaming clients, each asking for
// exactly N tokens (ignore_eos), R requests per client. Prints aggregate generated tokens/s and
// time-to-first-token percentiles as JSON.
//   node bench/serve_load.mjs --url http://127.0.0.1:8080 --clients 16 --tokens 128 --requests 2
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const url = args.url ?? 'http://127.0.0.1:8080';
const clients = Number(args.clients ?? 1);
const tokens = Number(args.tokens ?? 128);
const requests = Number(args.requests ?? 1);
const model = args.model;

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))];
}

async function one(i) {
  const body = {
    prompt: `Request ${i}: Once upon a time, in a land far away,`, max_tokens: tokens, n_predict: tokens,
    temperature: 0, stream: true, ignore_eos: true, stop: [],
  };
  if (model) body.model = model;
  const t0 = performance.now();
  const res = await fetch(url + '/v1/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '', ttft = null, chunks = 0, usage = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const ev = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.usage) usage = j.usage;
      if (j.choices?.[0]?.text) { chunks++; if (ttft === null) ttft = performance.now() - t0; }
    }
  }
  return { ttft_ms: ttft, seconds: (performance.now() - t0) / 1000, tokens: usage?.completion_tokens ?? tokens };
}

const start = performance.now();
const results = (await Promise.all(Array.from({ length: clients }, async (_, c) => {
  const out = [];
  for (let r = 0; r < requests; r++) out.push(await one(c * requests + r));
  return out;
}))).flat();
const wall = (performance.now() - start) / 1000;
const generated = results.reduce((s, r) => s + r.tokens, 0);
const ttfts = results.map(r => r.ttft_ms).filter(x => x !== null).sort((a, b) => a - b);
console.log(JSON.stringify({
  clients, requests_per_client: requests, tokens_per_request: tokens, wall_seconds: +wall.toFixed(3),
  generated_tokens: generated, aggregate_tokens_per_second: +(generated / wall).toFixed(1),
  ttft_p50_ms: +percentile(ttfts, 50).toFixed(1), ttft_p99_ms: +percentile(ttfts, 99).toFixed(1),
}));
