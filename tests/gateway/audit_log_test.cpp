// The audit trail: chain, verification against every kind of tampering, rotation, torn lines,
// and failing closed when the file cannot be written.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/audit_log.h"
#include "gateway/audit_record.h"

namespace citadel {
namespace {

std::string temp_log() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = ::testing::TempDir() + "/citadel-audit-" + info->name();
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  return dir + "/audit.log";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

void fill(AuditLog& log, int n, int from = 0) {
  for (int i = from; i < from + n; ++i) {
    ASSERT_TRUE(log.append({{"event", {{"action", "api-call"}}}, {"n", i}}));
    if (i % 3 == 0) ASSERT_TRUE(log.flush());  // batches of one to three lines
  }
  ASSERT_TRUE(log.flush());
}

TEST(AuditLog, ChainVerifies) {
  const std::string path = temp_log();
  {
    AuditLog log({path});
    fill(log, 5);
  }
  {
    AuditLog log({path});  // a restart continues the chain
    EXPECT_EQ(log.next_seq(), 5);
    fill(log, 3, 5);
  }
  const auto r = verify_audit_trail(audit_trail_files(path));
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.lines, 8);
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the trail is readable by its owner only";
}

TEST(AuditLog, EveryTamperingIsDetected) {
  const std::string path = temp_log();
  {
    AuditLog log({path});
    fill(log, 6);
  }
  const auto good = read_lines(path);
  auto check = [&](std::vector<std::string> lines, int64_t want_line, const std::string& what) {
    write_lines(path, lines);
    const auto r = verify_audit_trail({path});
    EXPECT_FALSE(r.ok) << what;
    EXPECT_EQ(r.line, want_line) << what << ": " << r.problem;
  };
  auto edited = good;
  edited[2].replace(edited[2].find("\"n\":2"), 5, "\"n\":9");
  check(edited, 4, "an edited line (the next line's hash no longer matches)");
  auto deleted = good;
  deleted.erase(deleted.begin() + 3);
  check(deleted, 4, "a deleted line");
  auto swapped = good;
  std::swap(swapped[1], swapped[2]);
  check(swapped, 2, "two lines swapped");
  auto cut = good;
  cut.pop_back();
  check(cut, 5, "the last line cut off (the head record still names it)");
  auto first = good;
  first.erase(first.begin());
  write_lines(path, first);
  std::remove((path + ".head").c_str());
  EXPECT_TRUE(verify_audit_trail({path}).ok) << "without the head, a trail may start mid-chain (rotated files gone)";
  auto garbage = good;
  garbage[0] = "not json";
  check(garbage, 1, "a line that is not an audit line");
  write_lines(path, good);
  EXPECT_FALSE(verify_audit_trail({path + ".missing"}).ok);
}

TEST(AuditLog, RotationCarriesTheChain) {
  const std::string path = temp_log();
  {
    AuditLog log({path, 400, true});
    fill(log, 20);
  }
  const auto files = audit_trail_files(path);
  ASSERT_GT(files.size(), 3u) << "20 lines of ~100 bytes in files of 400";
  EXPECT_EQ(files.front(), path + ".000001");
  EXPECT_EQ(files.back(), path);
  const auto r = verify_audit_trail(files);
  EXPECT_TRUE(r.ok) << r.file << ":" << r.line << " " << r.problem;
  EXPECT_EQ(r.lines, 20);
  // Deleting a middle file breaks the chain where the next file starts.
  std::remove(files[1].c_str());
  const auto broken = verify_audit_trail(audit_trail_files(path));
  EXPECT_FALSE(broken.ok);
  EXPECT_EQ(broken.file, files[2]);
  EXPECT_EQ(broken.line, 1);
}

TEST(AuditLog, TornLastLineIsCutAtStart) {
  const std::string path = temp_log();
  {
    AuditLog log({path});
    fill(log, 3);
  }
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"event\":{\"act";  // a crash in the middle of a write
  }
  AuditLog log({path});
  EXPECT_EQ(log.next_seq(), 3);
  fill(log, 1, 3);
  EXPECT_TRUE(verify_audit_trail({path}).ok);
  EXPECT_EQ(read_lines(path).size(), 4u);
}

TEST(AuditLog, UnwritableLogStaysPendingAndFailsClosed) {
  // /dev/full accepts the open and fails every write with ENOSPC: a full disk.
  AuditLog log({"/dev/full"});
  EXPECT_TRUE(log.healthy());
  log.append({{"n", 1}});
  EXPECT_FALSE(log.flush());
  EXPECT_FALSE(log.healthy());
  EXPECT_FALSE(log.append({{"n", 2}})) << "append reports the failing trail";
  EXPECT_FALSE(log.flush()) << "the writer retries and fails again";
  EXPECT_GE(log.write_failures(), 2);
}

TEST(AuditLog, ConcurrentWritersKeepOneChain) {
  const std::string path = temp_log();
  {
    AuditLog log({path, 8192, true});
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) log.append({{"thread", t}, {"i", i}});
      });
    for (auto& th : threads) th.join();
    EXPECT_TRUE(log.flush());
  }
  const auto r = verify_audit_trail(audit_trail_files(path));
  EXPECT_TRUE(r.ok) << r.file << ":" << r.line << " " << r.problem;
  EXPECT_EQ(r.lines, 1600);
  EXPECT_GT(audit_trail_files(path).size(), 5u) << "rotated at line boundaries inside batches";
}

TEST(AuditRecord, EcsFieldsAndContentModes) {
  AuditRecord r;
  r.request_id = "req1";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.client_ip = "10.0.0.7";
  r.tls_subject = "CN=alice";
  r.model = "stories";
  r.key_id = "0123456789ab";
  r.key_name = "alice";
  r.role = Role::User;
  r.status = 200;
  r.prompt_tokens = 5;
  r.completion_tokens = 7;
  r.duration_seconds = 0.25;
  r.inputs = {"What is my balance?"};
  r.outputs = {"It is 42."};
  const auto none = audit_event_json(r, AuditContent::None, "", 1'700'000'000'123);
  EXPECT_EQ(none["@timestamp"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(none["user"]["id"], "0123456789ab");
  EXPECT_EQ(none["user"]["roles"][0], "user");
  EXPECT_EQ(none["client"]["ip"], "10.0.0.7");
  EXPECT_EQ(none["tls"]["client"]["subject"], "CN=alice");
  EXPECT_EQ(none["http"]["response"]["status_code"], 200);
  EXPECT_EQ(none["http"]["request"]["id"], "req1");
  EXPECT_EQ(none["url"]["path"], "/v1/chat/completions");
  EXPECT_EQ(none["event"]["outcome"], "success");
  EXPECT_EQ(none["event"]["duration"], 250000000);
  EXPECT_EQ(none["citadel"]["usage"]["total_tokens"], 12);
  EXPECT_FALSE(none["citadel"].contains("content"));
  const auto hmac = audit_event_json(r, AuditContent::Hmac, "secret", 0);
  EXPECT_EQ(hmac["citadel"]["content"]["prompt"][0], audit_text_hmac("secret", "What is my balance?"));
  EXPECT_EQ(hmac["citadel"]["content"]["prompt"][0].get<std::string>().size(), 64u);
  EXPECT_EQ(hmac.dump().find("balance"), std::string::npos) << "no text in hmac mode";
  const auto text = audit_event_json(r, AuditContent::Text, "", 0);
  EXPECT_EQ(text["citadel"]["content"]["completion"][0], "It is 42.");
  EXPECT_THROW(parse_audit_content("all"), std::invalid_argument);
}

}  // namespace
}  // namespace citadel
