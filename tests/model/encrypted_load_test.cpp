// An encrypted copy of the bundled model loads with its key and computes exactly what the plain
// file does, while its plaintext stays in anonymous memory: nothing new appears on disk, no file
// of the model's directory stays mapped, and the weights lie in a mapping backed by no file.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/encrypted_model.h"
#include "core/gguf.h"
#include "core/model_key.h"
#include "model/model.h"
#include "test_paths.h"

using namespace citadel;

namespace {

std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) names.insert(e->d_name);
    ::closedir(d);
  }
  return names;
}

// The path of the mapping that holds `p` ("" for anonymous memory), from /proc/self/maps.
std::string mapping_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (std::string line; std::getline(maps, line);) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi) continue;
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    return path;
  }
  return "<unmapped>";
}

// The VmFlags of the mapping that holds `p`, from /proc/self/smaps ("dd": left out of core dumps).
std::string vm_flags_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    if (std::sscanf(line.c_str(), "%lx%c%lx", &lo, &dash, &hi) == 3 && dash == '-') inside = a >= lo && a < hi;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool any_mapping_under(const std::string& dir) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find(dir) != std::string::npos) return true;
  return false;
}

std::vector<float> logits_of(const Model& m) {
  ThreadPool pool(2);
  const HParams& hp = m.hparams();
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378};
  KvCache kv(hp, KvCache::blocks_for(16, 1), KvType::F32);
  const int32_t seq = kv.add_sequence();
  kv.reserve(seq, 16);
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int32_t>(i), seq, true);
  std::vector<float> logits(static_cast<size_t>(hp.n_vocab) * prompt.size());
  m.forward(b, kv, pool, logits.data());
  return logits;
}

TEST(EncryptedModelLoad, SameLogitsAndNothingOnDisk) {
#if !CITADEL_HAVE_OPENSSL
  GTEST_SKIP() << "this build has no OpenSSL";
#endif
  const std::string plain = test::source_dir() + "/models/stories260K.gguf";
  REQUIRE_FILE(plain);
  const std::string tmp = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string dir = tmp + "/citadel-encload-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  write_new_model_key_file(dir + "/key");
  encrypt_model_file(plain, dir + "/m.enc", read_model_key_file(dir + "/key"));
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);  // read-only (root could still write: the listings decide)

  const auto dir_before = listing(dir), tmp_before = listing(tmp), cwd_before = listing(".");
  set_model_key_file(dir + "/key");
  std::unique_ptr<Model> enc = Model::load(dir + "/m.enc");
  set_model_key_file("");
  EXPECT_EQ(listing(dir), dir_before);
  EXPECT_EQ(listing(tmp), tmp_before);
  EXPECT_EQ(listing("."), cwd_before);
  EXPECT_FALSE(any_mapping_under(dir)) << "a file of the model's directory is still mapped";
  const GgufTensorInfo* emb = enc->gguf().find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(mapping_of(emb->data), "") << "the weights are not in anonymous memory";
  const std::string flags = vm_flags_of(emb->data);
  EXPECT_NE(flags.find(" dd"), std::string::npos) << "not excluded from core dumps: " << flags;
  EXPECT_EQ(flags.find(" wr"), std::string::npos) << "still writable: " << flags;

  std::unique_ptr<Model> ref = Model::load(plain);
  char real[4096];
  ASSERT_NE(::realpath(plain.c_str(), real), nullptr);
  EXPECT_EQ(mapping_of(ref->gguf().find_tensor("token_embd.weight")->data), real);  // the check sees files
  EXPECT_EQ(logits_of(*enc), logits_of(*ref));
  EXPECT_EQ(enc->gguf().metadata().size(), ref->gguf().metadata().size());

  ::chmod(dir.c_str(), 0700);
  test::run_command("rm -rf '" + dir + "'");
}

}  // namespace
