#include "model/hf_tokenizer.h"

#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/gguf.h"
#include "core/gguf_writer.h"

namespace citadel {
namespace {

using nlohmann::json;

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

bool read_text(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

json read_json(const std::string& path) {
  std::string text;
  if (!read_text(path, &text)) return json();
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(path + ": malformed JSON: " + e.what());
  }
}

// --- SentencePiece ModelProto (protobuf wire format), only the fields a GGUF needs -------------

class ProtoReader {
 public:
  ProtoReader(const uint8_t* p, size_t n, const std::string& where) : p_(p), end_(p + n), where_(where) {}
  bool done() const { return p_ >= end_; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) throw FormatError(where_ + ": truncated varint");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw FormatError(where_ + ": varint longer than 10 bytes");
  }
  // Reads a field header; for length-delimited fields returns the payload in *sub.
  bool next(uint32_t* field, uint32_t* wire, const uint8_t** data, size_t* len) {
    if (done()) return false;
    const uint64_t key = varint();
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<uint32_t>(key & 7);
    *data = p_;
    switch (*wire) {
      case 0: *len = 0; value_ = varint(); break;
      case 1: skip(8); *len = 8; break;
      case 5: skip(4); *len = 4; break;
      case 2: {
        const uint64_t n = varint();
        if (n > static_cast<uint64_t>(end_ - p_)) throw FormatError(where_ + ": field runs past the end");
        *data = p_;
        *len = static_cast<size_t>(n);
        p_ += n;
        break;
      }
      default: throw FormatError(where_ + ": unsupported protobuf wire type " + std::to_string(*wire));
    }
    return true;
  }
  uint64_t value() const { return value_; }

 private:
  void skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) throw FormatError(where_ + ": truncated field");
    p_ += n;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  std::string where_;
  uint64_t value_ = 0;
};

struct SpmModel {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;
  bool add_dummy_prefix = true;
  int64_t unk = 0, bos = 1, eos = 2, pad = -1;
};

SpmModel parse_sentencepiece(const std::string& bytes, const std::string& path) {
  SpmModel m;
  ProtoReader top(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
  uint32_t field, wire;
  const uint8_t* data;
  size_t len;
  while (top.next(&field, &wire, &data, &len)) {
    if (field == 1 && wire == 2) {  // SentencePiece { piece = 1; score = 2; type = 3 }
      ProtoReader p(data, len, path);
      std::string piece;
      float score = 0;
      int32_t type = kNormal;
      uint32_t f, wt;
      const uint8_t* d;
      size_t l;
      while (p.next(&f, &wt, &d, &l)) {
        if (f == 1 && wt == 2) piece.assign(reinterpret_cast<const char*>(d), l);
        else if (f == 2 && wt == 5) std::memcpy(&score, d, 4);
        else if (f == 3 && wt == 0) type = static_cast<int32_t>(p.value());
      }
      if (type < 1 || type > 6) type = kNormal;
      m.pieces.push_back(std::move(piece));
      m.scores.push_back(score);
      m.types.push_back(type);
    } else if (field == 2 && wire == 2) {  // TrainerSpec: unk_id 40, bos_id 41, eos_id 42, pad_id 43
      ProtoReader p(data, len, path);
      uint32_t f, wt;
      const uint8_t* d;
      size_t l;
      while (p.next(&f, &wt, &d, &l)) {
        if (wt != 0) continue;
        const int64_t v = static_cast<int32_t>(static_cast<uint32_t>(p.value()));
        if (f == 40) m.unk = v;
        else if (f == 41) m.bos = v;
        else if (f == 42) m.eos = v;
        else if (f == 43) m.pad = v;
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec: add_dummy_prefix = 3
      ProtoReader p(data, len, path);
      uint32_t f, wt;
      const uint8_t* d;
      size_t l;
      while (p.next(&f, &wt, &d, &l))
        if (f == 3 && wt == 0) m.add_dummy_prefix = p.value() != 0;
    }
  }
  if (m.pieces.empty()) throw FormatError(path + ": no pieces (not a SentencePiece model?)");
  return m;
}

// --- tokenizer.json -----------------------------------------------------------------------------

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
  int32_t find(const std::string& text) const {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == text) return static_cast<int32_t>(i);
    return -1;
  }
};

std::string token_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

bool is_byte_token(const std::string& t) {
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

std::string pre_name(const json& root) {
  const std::string pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"].dump() : "";
  if (pre.find(R"(\\p{N}{1,3})") != std::string::npos && pre.find("(?i:'s|'t|'re|'ve|'m|'ll|'d)") != std::string::npos)
    return "llama-bpe";
  if (pre.find(R"([^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?)") != std::string::npos) return "qwen2";
  if (pre.find("\"ByteLevel\"") != std::string::npos && pre.find("\"Split\"") == std::string::npos) return "gpt-2";
  return "default";
}

void add_tokenizer_json(const json& root, const std::string& path, Vocab& v, GgufWriter& w) {
  const json& model = root.contains("model") ? root["model"] : json();
  if (!model.is_object() || !model.contains("vocab") || !model["vocab"].is_object())
    throw FormatError(path + ": no model.vocab object");
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") throw FormatError(path + ": tokenizer model '" + type + "' is not supported (BPE only)");
  std::map<int64_t, std::pair<std::string, int32_t>> by_id;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (1 << 24))
      throw FormatError(path + ": bad id for token '" + text + "'");
    by_id[id.get<int64_t>()] = {text, kNormal};
  }
  if (root.contains("added_tokens") && root["added_tokens"].is_array())
    for (const json& t : root["added_tokens"]) {
      if (!t.contains("id") || !t["id"].is_number_integer() || t["id"].get<int64_t>() < 0 || t["id"].get<int64_t>() >= (1 << 24))
        throw FormatError(path + ": an added token has no valid id");
      by_id[t["id"].get<int64_t>()] = {token_text(t), t.value("special", false) ? kControl : kUserDefined};
    }
  if (by_id.empty()) throw FormatError(path + ": empty vocabulary");
  const int64_t n = by_id.rbegin()->first + 1;
  v.tokens.resize(n);
  v.types.assign(n, kUnused);
  for (int64_t i = 0; i < n; ++i) v.tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [id, tt] : by_id) {
    v.tokens[id] = tt.first;
    v.types[id] = tt.second;
  }
  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array())
    for (const json& m : model["merges"]) {
      if (m.is_string()) merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      else throw FormatError(path + ": malformed merge");
    }
  const bool byte_level = root.dump().find("\"ByteLevel\"") != std::string::npos;
  if (byte_level) {
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre_name(root));
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    w.set_i32s("tokenizer.ggml.token_type", v.types);
    w.set_strings("tokenizer.ggml.merges", merges);
    return;
  }
  // SentencePiece-style BPE: a merged token scores minus the rank of the merge that makes it, so
  // the SPM tokenizer (highest score first) merges in BPE order.
  v.scores.assign(n, 0.0f);
  std::map<std::string, size_t> rank;
  for (size_t r = 0; r < merges.size(); ++r) {
    const size_t space = merges[r].find(' ', 1);
    if (space == std::string::npos) throw FormatError(path + ": malformed merge '" + merges[r] + "'");
    rank.emplace(merges[r].substr(0, space) + merges[r].substr(space + 1), r);
  }
  for (int64_t i = 0; i < n; ++i) {
    auto it = rank.find(v.tokens[i]);
    if (v.types[i] == kNormal && it != rank.end()) v.scores[i] = -static_cast<float>(it->second + 1);
    else if (v.types[i] == kNormal && is_byte_token(v.tokens[i]) && model.value("byte_fallback", false)) v.types[i] = kByte;
  }
  const std::string unk = model.contains("unk_token") && model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "";
  if (!unk.empty() && v.find(unk) >= 0) v.types[v.find(unk)] = kUnknown;
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string("tokenizer.ggml.pre", "default");
  w.set_strings("tokenizer.ggml.tokens", v.tokens);
  w.set_f32s("tokenizer.ggml.scores", v.scores);
  w.set_i32s("tokenizer.ggml.token_type", v.types);
  const std::string dump = root.contains("normalizer") ? root["normalizer"].dump() : "";
  const std::string pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"].dump() : "";
  const bool prefix = dump.find("\"Prepend\"") != std::string::npos || pre.find("\"always\"") != std::string::npos ||
                      pre.find("\"first\"") != std::string::npos;
  w.set_bool("tokenizer.ggml.add_space_prefix", prefix);
  if (!unk.empty() && v.find(unk) >= 0) w.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(v.find(unk)));
}

// BOS/EOS/PAD from tokenizer_config.json, then config.json's ids.
void add_special_ids(const json& tc, const json& cfg, const Vocab& v, GgufWriter& w, bool have_ids) {
  auto id_for = [&](const char* key, const char* cfg_key, int64_t* out) {
    if (tc.is_object() && tc.contains(key)) {
      const int32_t id = v.find(token_text(tc[key]));
      if (id >= 0) { *out = id; return true; }
    }
    if (cfg.is_object() && cfg.contains(cfg_key) && cfg[cfg_key].is_number_integer() && cfg[cfg_key].get<int64_t>() >= 0 &&
        cfg[cfg_key].get<int64_t>() < static_cast<int64_t>(v.tokens.size())) {
      *out = cfg[cfg_key].get<int64_t>();
      return true;
    }
    return have_ids;
  };
  int64_t bos = 1, eos = 2, pad = -1;
  if (id_for("bos_token", "bos_token_id", &bos) && bos >= 0) w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
  if (id_for("eos_token", "eos_token_id", &eos) && eos >= 0) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  if (id_for("pad_token", "pad_token_id", &pad) && pad >= 0) w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(pad));
  if (tc.is_object() && tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
    w.set_bool("tokenizer.ggml.add_bos_token", tc["add_bos_token"].get<bool>());
  if (tc.is_object() && tc.contains("add_eos_token") && tc["add_eos_token"].is_boolean())
    w.set_bool("tokenizer.ggml.add_eos_token", tc["add_eos_token"].get<bool>());
}

std::string chat_template(const std::string& dir, const json& tc) {
  std::string text;
  if (read_text(dir + "/chat_template.jinja", &text)) return text;
  if (!tc.is_object() || !tc.contains("chat_template")) return "";
  const json& t = tc["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array())  // [{"name": "default", "template": "..."}, ...]
    for (const json& e : t)
      if (e.is_object() && e.value("name", std::string()) == "default" && e.contains("template") && e["template"].is_string())
        return e["template"].get<std::string>();
  return "";
}

}  // namespace

bool add_hf_tokenizer_metadata(const std::string& dir, GgufWriter& w) {
  const json tc = read_json(dir + "/tokenizer_config.json");
  const json cfg = read_json(dir + "/config.json");
  Vocab v;
  std::string bytes;
  bool have_ids = false;
  if (read_text(dir + "/tokenizer.model", &bytes)) {
    SpmModel m = parse_sentencepiece(bytes, dir + "/tokenizer.model");
    v.tokens = m.pieces;
    v.types = m.types;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string("tokenizer.ggml.pre", "default");
    w.set_strings("tokenizer.ggml.tokens", m.pieces);
    w.set_f32s("tokenizer.ggml.scores", m.scores);
    w.set_i32s("tokenizer.ggml.token_type", m.types);
    w.set_bool("tokenizer.ggml.add_space_prefix", m.add_dummy_prefix);
    auto in_range = [&](int64_t id) { return id >= 0 && id < static_cast<int64_t>(m.pieces.size()); };
    if (in_range(m.unk)) w.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(m.unk));
    json tc2 = tc.is_object() ? tc : json::object();
    // The model's own ids are the fallback when the JSON files name none.
    json cfg2 = cfg.is_object() ? cfg : json::object();
    if (!cfg2.contains("bos_token_id") && in_range(m.bos)) cfg2["bos_token_id"] = m.bos;
    if (!cfg2.contains("eos_token_id") && in_range(m.eos)) cfg2["eos_token_id"] = m.eos;
    if (!cfg2.contains("pad_token_id") && in_range(m.pad)) cfg2["pad_token_id"] = m.pad;
    add_special_ids(tc2, cfg2, v, w, have_ids);
  } else if (read_text(dir + "/tokenizer.json", &bytes)) {
    json root;
    try {
      root = json::parse(bytes);
    } catch (const json::exception& e) {
      throw FormatError(dir + "/tokenizer.json: malformed JSON: " + e.what());
    }
    add_tokenizer_json(root, dir + "/tokenizer.json", v, w);
    add_special_ids(tc, cfg, v, w, have_ids);
  } else {
    return false;
  }
  const std::string tmpl = chat_template(dir, tc);
  if (!tmpl.empty()) w.set_string("tokenizer.chat_template", tmpl);
  return true;
}

}  // namespace citadel
