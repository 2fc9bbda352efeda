// Renders every real chat template in <shared>/tokenizers (templates/*.jinja and the
// tokenizer_config.json of llama3 and qwen3) with the reference renderer @huggingface/jinja on a
// set of conversations, renders the same with `citadel chat-template`, and compares byte for byte.
// A render that fails on one side must fail on the other too. Also compares a set of small
// templates that exercise the language (filters, loops, macros, slicing, tojson...), and random
// expressions and whitespace-control templates from a fixed seed.
//   node chat_template_reference.mjs CITADEL_BINARY SHARED_DIR
import { Template } from "@huggingface/jinja";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [citadel, shared] = process.argv.slice(2);
const tokDir = path.join(shared, "tokenizers");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "citadel-chat-template-"));

// ---- conversations -------------------------------------------------------------------------
const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather in a city.",
      parameters: {
        type: "object",
        properties: {
          location: { type: "string", description: "City and country, e.g. Paris, France" },
          unit: { type: "string", enum: ["celsius", "fahrenheit"], description: "Temperature unit" },
          days: { type: "integer", description: "Forecast length" },
        },
        required: ["location"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "search",
      description: "Search the web — returns “snippets”.",
      parameters: {
        type: "object",
        properties: {
          query: { type: "string", description: "What to look for" },
          max_results: { type: "number", description: "At most this many" },
          safe: { type: "boolean", description: "Filter adult content" },
        },
        required: ["query"],
      },
    },
  },
];
const system = { role: "system", content: "You are a helpful assistant." };
const call1 = {
  id: "call00001",
  type: "function",
  function: { name: "get_weather", arguments: { location: "Paris, France", unit: "celsius", days: 3 } },
};
const call2 = {
  id: "call00002",
  type: "function",
  function: { name: "search", arguments: { query: "Eiffel tower \"height\"", max_results: 2.5, safe: true } },
};
const toolTurns = [
  { role: "user", content: "What is the weather in Paris?" },
  { role: "assistant", content: null, tool_calls: [call1] },
  { role: "tool", tool_call_id: "call00001", name: "get_weather", content: '{"temperature": 21, "sky": "clear"}' },
  { role: "assistant", content: "It is 21 °C and clear in Paris." },
];

const conversations = [
  { name: "system-user", messages: [system, { role: "user", content: "Hello!" }] },
  { name: "system-user-nogen", gen: false, messages: [system, { role: "user", content: "Hello!" }] },
  { name: "user-only", messages: [{ role: "user", content: "Hi" }] },
  {
    name: "multi-turn",
    messages: [
      system,
      { role: "user", content: "Who are you?" },
      { role: "assistant", content: "I am an assistant." },
      { role: "user", content: "  What can you do?  \n" },
      { role: "assistant", content: "Many things.\n\nAsk me." },
      { role: "user", content: "Thanks" },
    ],
  },
  {
    name: "multi-turn-nosystem-nogen",
    gen: false,
    messages: [
      { role: "user", content: "One" },
      { role: "assistant", content: "Two" },
      { role: "user", content: "Three" },
      { role: "assistant", content: "Four" },
    ],
  },
  {
    name: "unicode",
    messages: [
      { role: "system", content: "Réponds en français. 日本語もOK 🙂" },
      { role: "user", content: "Tab\there, quote \" and backslash \\ and {{ braces }} {% not a tag %}" },
    ],
  },
  { name: "empty-content", messages: [{ role: "user", content: "" }] },
  { name: "no-messages", messages: [] },
  { name: "roles-not-alternating", messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }] },
  { name: "tools", tools, messages: [system, { role: "user", content: "Weather in Paris?" }] },
  { name: "tools-nosystem", tools, messages: [{ role: "user", content: "Weather in Paris?" }] },
  { name: "tool-call-roundtrip", tools, messages: [system, ...toolTurns, { role: "user", content: "And tomorrow?" }] },
  { name: "tool-call-roundtrip-nogen", gen: false, tools, messages: [system, ...toolTurns] },
  {
    name: "tool-call-empty-content",
    tools,
    messages: [system, ...toolTurns.map((m) => (m.content === null ? { ...m, content: "" } : m)), { role: "user", content: "Thanks" }],
  },
  {
    name: "tool-call-no-tools-defined",
    gen: false,
    messages: [{ role: "user", content: "Go" }, { role: "assistant", content: "", tool_calls: [call2] }, { role: "tool", tool_call_id: "call00002", content: "done" }],
  },
  {
    name: "tool-call-string-arguments",
    tools,
    messages: [
      { role: "user", content: "Search please" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call00003", type: "function", function: { name: "search", arguments: '{"query": "x"}' } }],
      },
      { role: "tool", tool_call_id: "call00003", content: "no results" },
    ],
  },
  {
    name: "parallel-tool-calls",
    tools,
    messages: [
      { role: "user", content: "Weather and search" },
      { role: "assistant", content: "", tool_calls: [call1, call2] },
      { role: "tool", tool_call_id: "call00001", content: "sunny" },
      { role: "tool", tool_call_id: "call00002", content: "324 m" },
    ],
  },
  {
    name: "think-history",
    messages: [
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "<think>\nSimple arithmetic.\n</think>\n\n4" },
      { role: "user", content: "3+3?" },
    ],
  },
  {
    name: "think-last-assistant-nogen",
    gen: false,
    messages: [
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "<think>\nAdd them.\n</think>\n\nThe answer is 4." },
    ],
  },
  {
    name: "reasoning-content",
    gen: false,
    messages: [
      { role: "user", content: "Why?" },
      { role: "assistant", content: "Because.", reasoning_content: "  I should explain.  " },
    ],
  },
  { name: "enable-thinking-false", vars: { enable_thinking: false }, messages: [{ role: "user", content: "Quick answer" }] },
  { name: "enable-thinking-true", vars: { enable_thinking: true }, messages: [{ role: "user", content: "Think hard" }] },
  { name: "date-string", vars: { date_string: "01 Jan 2025" }, messages: [system, { role: "user", content: "Date?" }] },
  {
    name: "tools-in-system-message",
    tools,
    vars: { tools_in_user_message: false },
    messages: [system, { role: "user", content: "Weather?" }],
  },
];

// ---- language feature templates ------------------------------------------------------------
const features = {
  "loop-vars": "{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.previtem }}{{ loop.nextitem }}|{% endfor %}",
  "for-else": "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}{{ x }}{% else %}no{% endfor %}",
  "for-filter": "{% for x in range(10) if x % 3 == 0 %}{{ x }}{{ loop.length }},{% endfor %}",
  "for-dict": "{% for k, v in {'b': 1, 'a': [1, 2]}.items() %}{{ k }}={{ v }};{% endfor %}{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}",
  "break-continue": "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}",
  "if-elif": "{% for x in [1, 2, 3, 4] %}{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}other{% endif %} {% endfor %}",
  "set-block": "{% set greeting %}Hello {{ name | default('you') }}!{% endset %}[{{ greeting }}]{% set a, b = 1, 2 %}{{ a + b }}",
  "namespace": "{% set ns = namespace(count=0, items=[]) %}{% for x in range(4) %}{% set ns.count = ns.count + x %}{% endfor %}{{ ns.count }}{% set n2 = namespace() %}{% set n2.v = 'x' %}{{ n2.v }}",
  "scoping": "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set y = 3 %}{% endif %}{{ y }}",
  "macros": "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy', punct='.') }}{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}",
  "macro-kwargs-varargs": "{% macro f(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ f(1, 2, 3, x=4) }}",
  "call-block": "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ 1 + 1 }}{% endcall %}",
  "filter-block": "{% filter upper %}shout {{ 'this' }}{% endfilter %}",
  "slicing": "{% set s = 'abcdef' %}{% set l = [1,2,3,4,5] %}{{ s[1:3] }}|{{ s[::-1] }}|{{ s[-2:] }}|{{ l[::2] }}|{{ l[::-1] }}|{{ l[1:-1] }}|{{ l[-1] }}|{{ s[0] }}|{{ l[10:] }}|{{ s[::-2] }}|{{ l[3:1:-1] }}",
  "string-methods": "{% set s = '  Hello World  ' %}[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ s.upper() }}][{{ s.lower() }}][{{ 'hello world-foo_bar'.title() }}][{{ 'aXb'.capitalize() }}][{{ s.startswith('  H') }}][{{ s.endswith(('x', '  ')) }}][{{ 'a,b,,c'.split(',') }}][{{ ' a  b c '.split() }}][{{ 'a-b-c'.split('-', 1) }}][{{ 'aaa'.replace('a', 'b', 2) }}][{{ 'xy'.replace('', '-') }}][{{ '\\n\\nx\\n'.strip('\\n') }}]",
  "filters-string": "{{ '  x  ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello there' | title }}|{{ 'hello' | capitalize }}|{{ 'héllo' | length }}|{{ 'a-b' | replace('-', '+') }}|{{ '42abc' | int }}|{{ 'x' | int(7) }}|{{ '2.5' | float }}|{{ 'ab' | join('.') }}|{{ 'l1\\nl2\\n\\nl3' | indent }}|{{ 'l1\\nl2' | indent(2, true) }}|{{ 'x' | string }}",
  "filters-list": "{% set l = [3, 1, 2] %}{{ l | length }}|{{ l | first }}|{{ l | last }}|{{ l | sort }}|{{ l | reverse }}|{{ l | join(', ') }}|{{ l | join }}|{{ [1, 1, 2] | unique }}|{{ l | list }}|{{ l | string }}|{{ ['b', 'A', 'c'] | sort }}|{{ l | sort(reverse=true) }}",
  "filters-objects": "{% set people = [{'name': 'a', 'age': 3, 'ok': true}, {'name': 'b', 'age': 1, 'ok': false}, {'name': 'c', 'age': 2, 'ok': true}] %}{{ people | selectattr('ok') | map(attribute='name') | list }}|{{ people | rejectattr('ok') | map(attribute='name') | join(',') }}|{{ people | selectattr('name', 'equalto', 'c') | list | length }}|{{ people | sort(attribute='age') | map(attribute='name') | join }}|{{ people | map(attribute='zzz', default='-') | join }}",
  "filters-dict": "{% set d = {'b': 2, 'a': 1} %}{{ d | items }}|{{ d | length }}|{{ d.keys() }}|{{ d.values() }}|{{ d.get('a') }}|{{ d.get('z', 'none') }}|{{ d.get('z') }}|{{ d | dictsort }}|{{ d['b'] }}|{{ d.b }}",
  "default-filter": "{{ undefined_thing | default('dflt') }}|{{ '' | default('empty', true) }}|{{ none | default('n') }}|{{ 0 | default(5, true) }}",
  "tojson": "{% set v = {'s': 'a\"b\\\\c\\n\\u00e9', 'n': [1, 2.5, -3, 1.0, 1e21], 'b': true, 'z': none, 'e': {}, 'l': []} %}{{ v | tojson }}\n{{ v | tojson(indent=2) }}\n{{ v | tojson(ensure_ascii=true) }}\n{{ v | tojson(separators=(',', ':')) }}\n{{ {'b': 1, 'a': {'d': 1, 'c': 2}} | tojson(sort_keys=true) }}\n{{ 'str' | tojson }}{{ 1.5 | tojson }}",
  "tests": "{% for v in [none, true, 1, 1.5, 'x', [1], {'a': 1}] %}{{ v is none }}{{ v is boolean }}{{ v is number }}{{ v is integer }}{{ v is string }}{{ v is iterable }}{{ v is mapping }}{{ v is sequence }}{{ v is defined }} {% endfor %}{{ nope is defined }}{{ nope is undefined }}{{ 3 is odd }}{{ 4 is even }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ true is true }}{{ false is false }}{{ x is not defined }}",
  "operators": "{{ 7 // 2 }}|{{ 7 / 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 1 + 2.0 }}|{{ 'a' ~ 1 ~ 2.0 ~ true }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}|{{ 1 in [1, 2] }}|{{ 'b' in 'abc' }}|{{ 'a' in {'a': 1} }}|{{ 3 not in [1] }}|{{ 1 == 1.0 }}|{{ '1' == 1 }}|{{ none == nope }}|{{ not true }}|{{ 1 < 2 and 2 > 3 or 'x' }}|{{ -(3) }}|{{ 1 if false else 2 }}|{{ 'y' if true }}|{{ 4 - -1 }}",
  "printing": "{{ none }}|{{ nope }}|{{ true }}|{{ 1.0 }}|{{ 2.50 }}|{{ [1, 'a', none, 1.0] }}|{{ {'k': [true]} }}|{{ 0.1 + 0.2 }}|{{ 3.0 * 2 }}|{{ 10 / 4 }}|{{ 1 / 3 }}|{{ 2 ** 0.5 }}|{{ 100000000000000000000.0 * 10 }}|{{ 0.000001 / 10 }}|{{ -0.0 }}|{{ [1, 2] | join('-') }}",
  "whitespace-control": "a  {%- if true -%}  b  {%- endif -%}  c\n  {% if true %}\n    d\n  {% endif %}\n{# comment #}\ne {{- ' f ' -}} g\n{#- trimmed -#}\n  h\n",
  "string-escapes": "{{ 'tab\\tnew\\nline \\x41 \\u00e9 \\'q\\' \"dq\"' }}{{ \"it's\" }}",
  "member-misc": "{{ 'abc'.length }}|{{ [1, 2].length }}|{{ messages[0].role }}|{{ messages[-1]['content'] }}|{{ messages | length }}|{{ (messages | first).content }}",
  "unicode-strings": "{% set s = '😀héllo wörld' %}{{ s | length }}|{{ s.length }}|{{ s[0:3] }}|{{ s[::-1] }}|{{ s | title }}|{{ s.upper() }}|{{ s | tojson }}|{{ s | tojson(ensure_ascii=true) }}|{{ s.split('l') }}",
  "nested-literals": "{{ {'a': {'b': [1, {'c': 2}]}} }}|{{ {'a': {'b': 1}}['a']['b'] }}|{{ ({'x': 1}).x }}|{{ [[1, 2], [3]] | tojson(indent=4) }}",
  "undefined-chains": "{{ a.b.c is defined }}|{{ a.b }}|{{ (messages[5] or {}).role is defined }}|{{ messages[5].role }}|{{ 'x' if a is defined else 'y' }}",
  "generation-tag": "{% for m in messages %}{% if m.role == 'user' %}U:{{ m.content }}\n{% else %}{% generation %}A:{{ m.content }}{% endgeneration %}\n{% endif %}{% endfor %}",
  "lstrip-trim-blocks": "<a>\n    {% if true %}\n\tx\n\t{% endif %}\n  {# c #}\n  {{ 'e' }}\n{%- if true %} y {% endif -%}\n  z\r\n  {% if true %}w{% endif %}\r\n",
  "dict-in-loop-set": "{% set seen = namespace(roles=[]) %}{% for m in messages %}{% if m.role not in seen.roles %}{% set seen.roles = seen.roles + [m.role] %}{% endif %}{% endfor %}{{ seen.roles | join(',') }}|{{ messages | map(attribute='role') | join(',') }}|{{ messages[1:] | length }}",
  "equality-identity": "{% set a = [1] %}{% set b = [1] %}{{ a == b }}{{ a == a }}{{ messages[0] == messages[0] }}{{ messages[0] == messages[1] }}{{ 1 == true }}{{ '' == 0 }}{{ 'abc' in ['abc'] }}{{ 2 in [1.0, 2.0] }}",
  "raise": "{% if messages | length > 0 %}{{ raise_exception('Custom error: ' ~ messages[0].role) }}{% endif %}",
  "strftime": "{{ strftime_now('%Y-%m-%d %b %B %%') }}",
  "unknown-filter": "{{ 'x' | frobnicate }}",
  "undefined-call": "{{ nothing.here() }}",
};

// ---- rendering -------------------------------------------------------------------------------
function reference(source, vars) {
  try {
    return { ok: true, out: new Template(source).render(vars) };
  } catch (e) {
    return { ok: false, out: String(e && e.message) };
  }
}

let counter = 0;
function ours(templatePath, conv, bos, eos) {
  const input = { messages: conv.messages, ...(conv.tools ? { tools: conv.tools } : {}), ...(conv.vars ?? {}) };
  const file = path.join(work, `m${counter++}.json`);
  fs.writeFileSync(file, JSON.stringify(input));
  const args = ["chat-template", "--template", templatePath, "--messages", file];
  if (conv.gen === false) args.push("--no-generation-prompt");
  if (bos !== undefined) args.push("--bos-token", bos);
  if (eos !== undefined) args.push("--eos-token", eos);
  try {
    return { ok: true, out: execFileSync(citadel, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (e) {
    return { ok: false, out: String(e.stderr || e.message).trim() };
  }
}

function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) ++i;
  return i;
}

const results = { match: 0, bothFailed: 0, mismatch: [] };
function compare(label, ref, got) {
  if (ref.ok && got.ok && ref.out === got.out) {
    results.match++;
  } else if (!ref.ok && !got.ok) {
    results.match++;
    results.bothFailed++;
    if (process.env.VERBOSE) console.log(`both failed: ${label}: ${ref.out} | ${got.out}`);
  } else {
    let detail;
    if (ref.ok && got.ok) {
      const i = firstDifference(ref.out, got.out);
      detail = `differ at ${i}:\n    reference: ${JSON.stringify(ref.out.slice(Math.max(0, i - 40), i + 60))}\n    citadel:   ${JSON.stringify(got.out.slice(Math.max(0, i - 40), i + 60))}`;
    } else {
      detail = `reference ${ref.ok ? "rendered" : "failed: " + ref.out}; citadel ${got.ok ? "rendered" : "failed: " + got.out}`;
    }
    results.mismatch.push(`${label}: ${detail}`);
  }
}

const templates = [];
for (const f of fs.readdirSync(path.join(tokDir, "templates")).sort()) {
  if (!f.endsWith(".jinja")) continue;
  const file = path.join(tokDir, "templates", f);
  templates.push({ label: f, file, source: fs.readFileSync(file, "utf8"), bos: "<s>", eos: "</s>", explicit: true });
}
for (const m of ["llama3", "qwen3"]) {
  const file = path.join(tokDir, m, "tokenizer_config.json");
  const cfg = JSON.parse(fs.readFileSync(file, "utf8"));
  const tok = (t) => (t == null ? "" : typeof t === "string" ? t : t.content);
  templates.push({ label: `${m}/tokenizer_config.json`, file, source: cfg.chat_template, bos: tok(cfg.bos_token), eos: tok(cfg.eos_token), explicit: false });
}

for (const t of templates) {
  for (const conv of conversations) {
    const vars = {
      messages: conv.messages,
      add_generation_prompt: conv.gen !== false,
      tools: conv.tools ?? null,
      bos_token: t.bos,
      eos_token: t.eos,
      ...(conv.vars ?? {}),
    };
    const ref = reference(t.source, vars);
    const got = t.explicit ? ours(t.file, conv, t.bos, t.eos) : ours(t.file, conv);
    compare(`${t.label} × ${conv.name}`, ref, got);
  }
}
const templateRenders = results.match + results.mismatch.length;

const featureConv = { name: "features", messages: [system, { role: "user", content: "Hello" }] };
for (const [name, source] of Object.entries(features)) {
  const file = path.join(work, `${name}.jinja`);
  fs.writeFileSync(file, source);
  const ref = reference(source, { messages: featureConv.messages, add_generation_prompt: true, tools: null, bos_token: "<s>", eos_token: "</s>" });
  compare(`feature ${name}`, ref, ours(file, featureConv, "<s>", "</s>"));
}

// ---- random templates (fixed seed): expressions over every operator / filter / method / test,
// and whitespace control (-, trim_blocks, lstrip_blocks) around nested blocks ----------------
let seed = 20240726;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const lits = ["0", "1", "-3", "2.5", "1.0", "-0.5", "'abc'", "''", "' a b '", "'ÄöÜ ß'", "'x,y,,z'", "'😀x'",
  "'\\n\\tq\\n'", "none", "true", "false", "undef", "[]", "[1, 2, 3]", "['b', 'a', 'c']", "[1, 'a', none]", "{}",
  "{'a': 1, 'b': [2]}", "{'k': 'v', '1': 2}", "(1, 2)", "messages", "messages[0]", "obj", "obj.n", "obj.f", "range(3)"];
const filters = ["trim", "length", "upper", "lower", "title", "capitalize", "first", "last", "join", "join(',')",
  "tojson", "tojson(indent=2)", "string", "int", "float", "list", "sort", "reverse", "unique", "items",
  "default('d')", "default('d', true)", "indent", "indent(2, true)", "abs", "safe", "replace('a', 'X')",
  "dictsort", "map(attribute='role')", "selectattr('role', 'equalto', 'user')", "rejectattr('role')",
  "tojson(sort_keys=true)", "tojson(separators=(',', ':'))", "int(5)", "keys", "values"];
const methods = [".strip()", ".lstrip()", ".upper()", ".title()", ".split()", ".split(',')", ".split(',', 1)",
  ".startswith('a')", ".endswith(('c', 'z'))", ".replace('b', '')", ".get('a')", ".get('z', 0)", ".items()",
  ".keys()", "[1:]", "[::-1]", "[-1]", "[0]", "[1:3]", "[::2]", ".length", ".role", "['content']"];
const testNames = ["defined", "undefined", "none", "string", "mapping", "iterable", "number", "integer", "sequence",
  "boolean", "odd", "true", "lower", "upper", "callable"];
const binops = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">=", "in", "not in", "and", "or"];
function randomExpression(d) {
  const r = rnd();
  if (d <= 0 || r < 0.25) return pick(lits);
  if (r < 0.45) return `${randomExpression(d - 1)} | ${pick(filters)}`;
  if (r < 0.6) return `(${randomExpression(d - 1)})${pick(methods)}`;
  if (r < 0.7) return `${randomExpression(d - 1)} is ${rnd() < 0.3 ? "not " : ""}${pick(testNames)}`;
  if (r < 0.9) return `(${randomExpression(d - 1)}) ${pick(binops)} (${randomExpression(d - 1)})`;
  if (r < 0.95) return `not ${randomExpression(d - 1)}`;
  return `${randomExpression(d - 1)} if ${randomExpression(d - 1)} else ${randomExpression(d - 1)}`;
}
const spaces = ["", " ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n", "\u00a0", "x", "y\n", "  z  "];
const dash = () => (rnd() < 0.4 ? "-" : "");
const tag = (body) => `{%${dash()} ${body} ${dash()}%}`;
function randomText() {
  let s = "";
  for (let n = Math.floor(rnd() * 3); n > 0; --n) s += pick(spaces);
  return s;
}
function randomBlock(d) {
  let s = "";
  for (let n = 1 + Math.floor(rnd() * 4); n > 0; --n) {
    s += randomText();
    const r = rnd();
    if (r < 0.25) s += `{{${dash()} ${pick(["'v'", "' w '", "loop.index if loop is defined else 0", "ns.c", "m.role", "none", "1.5"])} ${dash()}}}`;
    else if (r < 0.35) s += `{#${dash()} c ${dash()}#}`;
    else if (r < 0.5 && d > 0) s += tag(`if ${pick(["true", "false", "m is defined", "ns.c > 1"])}`) + randomBlock(d - 1) + tag(pick(["else", "elif true"])) + randomBlock(d - 1) + tag("endif");
    else if (r < 0.65 && d > 0) s += tag(`for m in messages${rnd() < 0.3 ? " if m.role == 'user'" : ""}`) + randomBlock(d - 1) + tag("endfor");
    else if (r < 0.75) s += tag("set ns.c = ns.c + 1");
    else if (r < 0.8 && d > 0) s += tag(`macro mm${d}(a, b=2)`) + randomBlock(d - 1) + tag("endmacro") + `{{ mm${d}(1) }}`;
    else if (r < 0.85) s += tag("generation") + randomText() + tag("endgeneration");
    else if (r < 0.9 && d > 0) s += tag("set blk") + randomBlock(d - 1) + tag("endset") + "[{{ blk }}]";
    s += randomText();
  }
  return s;
}
const randomConv = {
  name: "random",
  messages: [{ role: "system", content: " S " }, { role: "user", content: "U" }],
  vars: { obj: { n: 3, f: 2.5, s: "str", l: [1, 2] } },
};
const randomCount = { expressions: 300, whitespace: 200 };
for (let i = 0; i < randomCount.expressions + randomCount.whitespace; ++i) {
  const source = i < randomCount.expressions
    ? `{{ ${randomExpression(3)} }}`
    : "{% set ns = namespace(c=0) %}" + randomBlock(3) + pick(["", "\n", "\n\n", " "]);
  const file = path.join(work, `random${i}.jinja`);
  fs.writeFileSync(file, source);
  const ref = reference(source, { messages: randomConv.messages, add_generation_prompt: true, tools: null, bos_token: "<s>", eos_token: "</s>", ...randomConv.vars });
  compare(`random ${JSON.stringify(source)}`, ref, ours(file, randomConv, "<s>", "</s>"));
}

fs.rmSync(work, { recursive: true, force: true });
const total = results.match + results.mismatch.length;
console.log(`chat templates: ${templates.length} templates × ${conversations.length} conversations = ${templateRenders} renders; ` +
  `language features: ${Object.keys(features).length} templates; random: ${randomCount.expressions} expressions, ` +
  `${randomCount.whitespace} whitespace-control templates`);
console.log(`${results.match}/${total} identical to @huggingface/jinja (${results.bothFailed} fail on both sides)`);
for (const m of results.mismatch) console.log("MISMATCH " + m);
process.exit(results.mismatch.length ? 1 : 0);
