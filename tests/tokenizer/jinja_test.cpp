// Unit tests of the Jinja interpreter. Expected outputs were produced by the reference renderer
// (@huggingface/jinja 0.5.11, the one transformers.js uses); tests/e2e/chat_template_reference.sh
// compares live against it on the real chat templates.
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "tokenizer/jinja_template.h"

namespace citadel::jinja {
namespace {

using ojson = nlohmann::ordered_json;

std::time_t fixed_now() {  // 2024-07-26 09:05 local time
  std::tm tm{};
  tm.tm_year = 124;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  tm.tm_hour = 9;
  tm.tm_min = 5;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

std::string render(const std::string& source, ojson vars = ojson::object(), Limits limits = {}) {
  if (!vars.contains("messages")) vars["messages"] = ojson::array();
  if (!vars.contains("bos_token")) vars["bos_token"] = "<s>";
  RenderOptions opt;
  opt.limits = limits;
  opt.now = fixed_now;
  return Template(source).render(vars, opt);
}

struct Case {
  const char* name;
  const char* source;
  const char* expected;
};

const Case kReferenceCases[] = {
    {"loop_vars", R"JJ({% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}|{% endfor %})JJ", R"JJ(10truefalse33|21falsefalse32|32falsetrue31|)JJ"},
    {"for_else", R"JJ({% for x in [] %}x{% else %}empty{% endfor %})JJ", R"JJ(empty)JJ"},
    {"for_inline_filter", R"JJ({% for x in range(10) if x % 3 == 0 %}{{ x }}/{{ loop.length }},{% endfor %})JJ", R"JJ(0/4,3/4,6/4,9/4,)JJ"},
    {"for_dict_items", R"JJ({% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }};{% endfor %})JJ", R"JJ(b=1;a=2;)JJ"},
    {"break_continue", R"JJ({% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %})JJ", R"JJ(0134)JJ"},
    {"if_elif_else", R"JJ({% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %} {% endfor %})JJ", R"JJ(one two other )JJ"},
    {"block_set", R"JJ({% set g %}Hello {{ 'you' }}!{% endset %}[{{ g }}])JJ", R"JJ([Hello you!])JJ"},
    {"tuple_set", R"JJ({% set a, b = 1, 2 %}{{ a + b }})JJ", R"JJ(3)JJ"},
    {"namespace", R"JJ({% set ns = namespace(n=0) %}{% for x in range(4) %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }})JJ", R"JJ(6)JJ"},
    {"loop_scope", R"JJ({% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }})JJ", R"JJ(21)JJ"},
    {"macro_defaults", R"JJ({% macro greet(name, p='!') %}Hi {{ name }}{{ p }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy', p='.') }})JJ", R"JJ(Hi Ann! Hi Bob? Hi Cy.)JJ"},
    {"macro_recursion", R"JJ({% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(3) }})JJ", R"JJ(321)JJ"},
    {"call_block", R"JJ({% macro wrap(t) %}<{{ t }}>{{ caller() }}</{{ t }}>{% endmacro %}{% call wrap('b') %}x{% endcall %})JJ", R"JJ(<b>x</b>)JJ"},
    {"slices", R"JJ({{ 'abcdef'[1:3] }}|{{ 'abcdef'[::-1] }}|{{ [1,2,3,4][::-1] }}|{{ [1,2,3][-1] }}|{{ [1,2,3,4,5][1:-1] }})JJ", R"JJ(bc|fedcba|[4, 3, 2, 1]|3|[2, 3, 4])JJ"},
    {"string_methods", R"JJ({{ '  a  '.strip() }}|{{ 'ab'.upper() }}|{{ 'a,b'.split(',') }}|{{ 'x y'.title() }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith('bc') }}|{{ 'aaa'.replace('a', 'b') }}|{{ '

x
'.lstrip('
') }})JJ", R"JJ(a|AB|["a", "b"]|X Y|true|true|bbb|x
)JJ"},
    {"filters", R"JJ({{ ' x ' | trim }}|{{ [3,1,2] | sort | join(',') }}|{{ 'abc' | length }}|{{ [1,2] | first }}{{ [1,2] | last }}|{{ {'a': 1} | items | list }}|{{ '42' | int + 1 }}|{{ x | default('d') }}|{{ 'a
b' | indent(2) }})JJ", R"JJ(x|1,2,3|3|12|[["a", 1]]|43|d|a
  b)JJ"},
    {"selectattr_map", R"JJ({{ [{'r': 'u', 'c': 1}, {'r': 'a', 'c': 2}] | selectattr('r', 'equalto', 'u') | map(attribute='c') | list }})JJ", R"JJ([1])JJ"},
    {"tests", R"JJ({{ none is none }}{{ 1 is number }}{{ 'a' is string }}{{ {} is mapping }}{{ 'a' is iterable }}{{ x is defined }}{{ [] is sequence }})JJ", R"JJ(truetruetruetruetruefalsetrue)JJ"},
    {"in_operator", R"JJ({{ 1 in [1] }}{{ 'a' in 'cat' }}{{ 'k' in {'k': 1} }}{{ 2 not in [1] }})JJ", R"JJ(truetruetruetrue)JJ"},
    {"concat", R"JJ({{ 'a' ~ 1 ~ 2.0 ~ true }}{{ 'b' + 3 }})JJ", R"JJ(a12trueb3)JJ"},
    {"printing", R"JJ({{ none }}|{{ undefined_var }}|{{ true }}|{{ 1.0 }}|{{ 2.5 }}|{{ [1, 'a', 1.0] }}|{{ {'k': none} }})JJ", R"JJ(||true|1.0|2.5|[1, "a", 1]|{"k": null})JJ"},
    {"arith", R"JJ({{ 7 // 2 }} {{ 7 / 2 }} {{ -7 % 3 }} {{ 2 ** 3 }} {{ 0.1 + 0.2 }})JJ", R"JJ(3 3.5 -1 8 0.30000000000000004)JJ"},
    {"tojson", R"JJ({{ {'a': [1, 2.5, true, none], 's': 'q"\\
é'} | tojson }})JJ", R"JJ({"a": [1, 2.5, true, null], "s": "q\"\\\né"})JJ"},
    {"tojson_indent", R"JJ({{ {'a': [1, {}], 'b': []} | tojson(indent=2) }})JJ", R"JJ({
  "a": [
    1,
    {}
  ],
  "b": []
})JJ"},
    {"tojson_ascii", R"JJ({{ 'é😀' | tojson(ensure_ascii=true) }})JJ", R"JJ("\u00e9\ud83d\ude00")JJ"},
    {"whitespace", R"JJ(a  {%- if true -%}  b  {%- endif -%}  c
  {% if true %}
    d
  {% endif %}
{# c #}
e {{- ' f ' -}} g)JJ", R"JJ(abc
    d
e f g)JJ"},
    {"comments", R"JJ(a{# hidden #}b{#- trim -#}  c)JJ", R"JJ(abc)JJ"},
    {"ternary", R"JJ({{ 'y' if 1 > 2 else 'n' }}{{ 'z' if true }})JJ", R"JJ(nz)JJ"},
    {"equality", R"JJ({{ 1 == 1.0 }}{{ '1' == 1 }}{{ none == undefined_var }}{{ [1] == [1] }})JJ", R"JJ(truetruetruefalse)JJ"},
    {"strftime", R"JJ({{ strftime_now('%Y-%m-%d %H:%M %b %B %%') }})JJ", R"JJ(2024-07-26 09:05 Jul July %)JJ"},
};

TEST(Jinja, MatchesReferenceRenders) {
  for (const Case& c : kReferenceCases) EXPECT_EQ(render(c.source), c.expected) << c.name;
}

TEST(Jinja, TransformersBlockSettings) {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before it goes;
  // one trailing newline of the template is dropped.
  EXPECT_EQ(render("{% if true %}\n  x\n    {% endif %}\ny\n"), "  x\ny");
  EXPECT_EQ(render("{{ 'a' }}\n{{ 'b' }}\n"), "a\nb");
  EXPECT_EQ(render("x {% generation %}y{% endgeneration %} z"), "x y z");
}

TEST(Jinja, JsonInputAsTheReferenceSeesIt) {
  ojson vars;
  vars["v"] = ojson::parse(R"({"b": 1.0, "2": "two", "a": 2.5, "1": [true, null]})");
  // Integral floats are integers after JSON.parse; integer-like keys come first (JS order).
  EXPECT_EQ(render("{{ v | tojson }}|{{ v.b }}|{{ v.a }}", vars), R"({"1": [true, null], "2": "two", "b": 1, "a": 2.5}|1|2.5)");
}

TEST(Jinja, MessagesAndTools) {
  ojson vars;
  vars["messages"] = ojson::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])");
  const char* tmpl =
      "{%- for m in messages %}{{ '<|' + m.role + '|>' + m['content'] }}{% if not loop.last %}\n{% endif %}{% endfor %}"
      "{%- if messages[0]['role'] == 'system' %}{% set rest = messages[1:] %}{% endif %}[{{ rest | length }}]";
  EXPECT_EQ(render(tmpl, vars), "<|system|>S<|user|>U[1]");  // trim_blocks ate the "\n"
}

TEST(Jinja, RaiseExceptionCarriesTheMessage) {
  try {
    render("{{ raise_exception('Roles must alternate') }}");
    FAIL() << "no exception";
  } catch (const RaisedException& e) {
    EXPECT_EQ(e.message(), "Roles must alternate");
  }
}

TEST(Jinja, SyntaxErrorsNameTheConstructAndPlace) {
  try {
    Template("line one\n{% if x %}\n  {% while true %}{% endwhile %}\n{% endif %}");
    FAIL() << "no exception";
  } catch (const SyntaxError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 6);
    EXPECT_NE(std::string(e.what()).find("unsupported statement '{% while %}'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Template("{% if x %}never closed"), SyntaxError);
  EXPECT_THROW(Template("{{ 'unterminated }}"), SyntaxError);
  EXPECT_THROW(Template("{{ a $ b }}"), SyntaxError);
  EXPECT_THROW(Template("{% for x in %}{% endfor %}"), SyntaxError);
  EXPECT_THROW(Template("{# no end"), SyntaxError);
  EXPECT_THROW(Template("{{ x is divisibleby(3) }}"), SyntaxError);
}

TEST(Jinja, RuntimeErrorsNameTheConstructAndPlace) {
  try {
    render("ok\n  {{ 'x' | frobnicate }}");
    FAIL() << "no exception";
  } catch (const RenderError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_NE(std::string(e.what()).find("'frobnicate'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render("{{ nothing() }}"), RenderError);
  EXPECT_THROW(render("{{ none + 1 }}"), RenderError);
  EXPECT_THROW(render("{% for x in 5 %}{% endfor %}"), RenderError);
  EXPECT_THROW(render("{{ x is frobnicated }}"), RenderError);
  EXPECT_THROW(render("{% break %}"), RenderError);
  EXPECT_THROW(render("{{ 1 // 0 }}"), RenderError);
}

TEST(Jinja, HostileTemplatesHitLimitsNotTheStack) {
  Limits small;
  small.max_steps = 200'000;
  small.max_string_bytes = 1 << 20;
  // Unbounded recursion.
  EXPECT_THROW(render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), RenderError);
  // Endless work.
  EXPECT_THROW(render("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", {}, small),
               RenderError);
  EXPECT_THROW(render("{{ range(100000000) | length }}"), RenderError);
  // Empty loop bodies still count, and so does time.
  EXPECT_THROW(render("{% set r = range(1000000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}", {}, small),
               RenderError);
  Limits quick;
  quick.max_seconds = 0.05;
  quick.max_steps = UINT64_MAX;
  EXPECT_THROW(render("{% set r = range(1000000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}", {}, quick),
               RenderError);
  // Exponential output.
  EXPECT_THROW(render("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", {}, small),
               RenderError);
  // Deep nesting in the source and in values; a namespace that contains itself.
  EXPECT_THROW(Template("{{ " + std::string(100000, '(')), SyntaxError);
  EXPECT_THROW(Template("{{ " + std::string(100000, '-') + "x }}"), SyntaxError);
  EXPECT_THROW(Template(std::string(5000, '{') + "% if x %}"), SyntaxError);
  EXPECT_THROW(Template("{{ " + std::string(100000, '[')), SyntaxError);
  EXPECT_THROW(render("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}"),
               RenderError);
  EXPECT_THROW(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}"), RenderError);
  std::string deep_json(5000, '[');
  deep_json += std::string(5000, ']');
  ojson vars;
  EXPECT_THROW(render("{{ v }}", {{"v", ojson::parse(deep_json)}}), RenderError);
}

TEST(Jinja, TemplateIsReusable) {
  Template t("{{ x }}");
  EXPECT_EQ(t.render(ojson{{"x", 1}}), "1");
  EXPECT_EQ(t.render(ojson{{"x", "two"}}), "two");
  EXPECT_THROW(t.render(ojson{{"range", 1}}), RenderError);  // built-ins cannot be redeclared
}

}  // namespace
}  // namespace citadel::jinja
