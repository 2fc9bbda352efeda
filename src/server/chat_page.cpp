#include "server/chat_page.h"

namespace citadel {

const std::string& chat_page_html() {
  static const std::string html = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Citadel chat</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 16px; display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  main { max-width: 820px; margin: 0 auto; padding: 16px; }
  #log { display: flex; flex-direction: column; gap: 10px; min-height: 50vh; }
  .msg { padding: 10px 12px; border-radius: 8px; white-space: pre-wrap; line-height: 1.4; }
  .user { background: #dbe7ff; align-self: flex-end; max-width: 80%; }
  .assistant { background: #fff; border: 1px solid #dde; max-width: 90%; }
  .error { background: #ffe0e0; }
  form { display: flex; gap: 8px; margin-top: 16px; }
  textarea { flex: 1; font: inherit; padding: 8px; min-height: 48px; }
  button { font: inherit; padding: 8px 16px; }
  label { font-size: 13px; }
  #keybox { display: none; background: #fff6d6; border: 1px solid #e8d48a; padding: 10px 12px; border-radius: 8px; margin-bottom: 12px; }
  #keybox input { font: inherit; width: 28em; }
  #status { font-size: 13px; color: #a33; margin: 8px 0; min-height: 1em; }
  #apis { margin-top: 16px; font-size: 13px; } #apis pre { overflow-x: auto; background: #fff; padding: 8px; }
</style>
</head>
<body>
<header><h1>Citadel</h1>
  <label>model <select id="model"></select></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7" style="width:4em"></label>
  <label>max tokens <input id="max_tokens" type="number" min="1" value="256" style="width:5em"></label>
</header>
<main>
  <div id="keybox">This server needs an API key (it stays in this tab only).
    <form id="keyform"><input id="key" type="password" autocomplete="off" placeholder="ctd_…"> <button id="usekey" type="submit">Use key</button></form>
  </div>
  <div id="status"></div>
  <div id="log"></div>
  <form id="form">
    <textarea id="input" placeholder="Ask something…" required></textarea>
    <button id="send" type="submit">Send</button>
  </form>
  <details id="apis"><summary>APIs this server speaks (one example each)</summary>
<pre>OpenAI     POST /v1/chat/completions  {"model": "…", "messages": [{"role": "user", "content": "Hi"}]}
           (also /v1/completions, /v1/embeddings, /v1/models)
OpenAI     POST /v1/responses         {"model": "…", "input": "Hi", "max_output_tokens": 64}
Anthropic  POST /v1/messages          {"model": "…", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
           (also /v1/messages/count_tokens)
Ollama     POST /api/chat             {"model": "…", "messages": [{"role": "user", "content": "Hi"}], "stream": false}
           (also /api/generate, /api/embed, /api/tags, /api/show, /api/ps, /api/version)
Simple     POST /generate             {"prompt": "Hi", "max_tokens": 64}</pre>
  </details>
</main>
<script>
const log = document.getElementById('log');
const history = [];
function add(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  log.appendChild(div);
  window.scrollTo(0, document.body.scrollHeight);
  return div;
}
// With keys on (serve --auth-db) every API call carries the key, kept in sessionStorage: gone
// when the tab closes, never sent anywhere but this server.
function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = sessionStorage.getItem('citadel_key');
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}
const status = document.getElementById('status');
// The plain meaning of a refusal, with the server's own message.
async function explain(res) {
  let message = res.statusText;
  try { message = (await res.json()).error.message; } catch (e) {}
  if (res.status === 401) { document.getElementById('keybox').style.display = 'block'; return '401 – no valid API key: ' + message; }
  if (res.status === 403) return '403 – this key may not do that: ' + message;
  if (res.status === 429) return '429 – over the key\'s limit, try again in ' + (res.headers.get('Retry-After') || '?') + ' s: ' + message;
  return res.status + ' – ' + message;
}
async function loadModels() {
  const res = await fetch('/v1/models', { headers: headers() });
  if (!res.ok) { status.textContent = await explain(res); return; }
  status.textContent = '';
  document.getElementById('keybox').style.display = 'none';
  const sel = document.getElementById('model');
  sel.innerHTML = '';
  for (const m of (await res.json()).data) { const o = document.createElement('option'); o.value = o.textContent = m.id; sel.appendChild(o); }
}
document.getElementById('keyform').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem('citadel_key', document.getElementById('key').value.trim());
  document.getElementById('key').value = '';
  loadModels();
});
loadModels();
document.getElementById('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = document.getElementById('input');
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  history.push({ role: 'user', content: text });
  add('user', text);
  const out = add('assistant', '');
  out.dataset.state = 'streaming';
  const button = document.getElementById('send');
  button.disabled = true;
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers(),
      body: JSON.stringify({
        model: document.getElementById('model').value || undefined, messages: history, stream: true,
        temperature: Number(document.getElementById('temperature').value),
        max_tokens: Number(document.getElementById('max_tokens').value) })
    });
    if (!res.ok) { history.pop(); throw new Error(await explain(res)); }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '', answer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        if (!event.startsWith('data: ')) continue;
        const data = event.slice(6);
        if (data === '[DONE]') continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = chunk.choices[0]?.delta || {};
        if (delta.content) { answer += delta.content; out.textContent = answer; }
      }
    }
    history.push({ role: 'assistant', content: answer });
    out.dataset.state = 'done';
  } catch (err) {
    out.className = 'msg error';
    out.textContent = 'Error: ' + err.message;
    out.dataset.state = 'error';
  } finally {
    button.disabled = false;
  }
});
</script>
</body>
</html>
)HTML";
  return html;
}

}  // namespace citadel
