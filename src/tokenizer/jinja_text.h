// String helpers with JavaScript semantics over UTF-8. The reference renderer
// (@huggingface/jinja) runs on JavaScript strings, so trimming, case mapping, lengths and number
// formatting follow JS rules here: byte-for-byte equal renders depend on these details.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::jinja::text {

// Decodes the code point at s[i]; *len gets its byte length. Invalid bytes decode as U+FFFD, len 1.
char32_t decode(std::string_view s, size_t i, size_t* len);
void append_utf8(std::string& out, char32_t cp);
std::vector<char32_t> code_points(std::string_view s);
std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end);

bool is_js_space(char32_t cp);   // JS /\s/
bool is_word_byte(unsigned char c);  // JS /\w/ (ASCII only)

std::string trim(std::string_view s);        // String.prototype.trim
std::string trim_start(std::string_view s);  // trimStart
std::string trim_end(std::string_view s);    // trimEnd
size_t utf16_length(std::string_view s);     // String.prototype.length
std::string to_upper(std::string_view s);    // toUpperCase (simple case mapping)
std::string to_lower(std::string_view s);
std::string title(std::string_view s);       // s.replace(/\b\w/g, upper): no lowercasing of the rest
std::string capitalize(std::string_view s);  // first character upper, the rest untouched

// Number.prototype.toString / JSON.stringify for a double ("1e+21", "0.1", "NaN").
std::string js_number(double v);
// JSON.stringify(string): escapes " \ and control characters, keeps other characters as they are.
// ensure_ascii additionally escapes U+007F and above as \uXXXX (UTF-16 units).
void append_json_string(std::string& out, std::string_view s, bool ensure_ascii);
// JS Number(string) for loose equality: NaN when not numeric.
double js_to_number(std::string_view s);
// JS parseInt(s, 10) / parseFloat(s); false when NaN.
bool js_parse_int(std::string_view s, int64_t* out);
bool js_parse_float(std::string_view s, double* out);

}  // namespace citadel::jinja::text
