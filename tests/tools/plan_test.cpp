// `citadel plan` end to end: flags, table and JSON output, the brief's cases, errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace citadel {
namespace {

using nlohmann::json;

std::string plan_cmd(const std::string& args) { return test::citadel_binary() + " plan " + args; }

json plan_json(const std::string& args) {
  int status = -1;
  const std::string out = test::run_command(plan_cmd(args + " --json"), &status);
  EXPECT_EQ(status, 0) << out;
  return json::parse(out);
}

// Exit code and stderr+stdout of a run expected to fail.
int run_failing(const std::string& args, std::string* out) {
  int status = -1;
  *out = test::run_command(plan_cmd(args) + " 2>&1", &status);
  return status;
}

TEST(PlanTool, JsonHasTheIssueFields) {
  const json j = plan_json("--preset llama-2-7b --quant q4_k_m --context 4096 --users 16 --gpu a100-80gb");
  for (const char* key : {"weights_bytes", "kv_cache_bytes", "total_bytes", "gpus", "decode_tokens_per_second",
                          "assumptions", "disk_bytes", "model", "device"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["gpus"], 1);
  EXPECT_NEAR(j["weights_bytes"].get<double>() / 1e9, 4.08, 0.01);
  EXPECT_EQ(j["kv_cache_bytes"].get<uint64_t>(), 32ull << 30);
  EXPECT_GT(j["decode_tokens_per_second"]["per_user"].get<double>(), 10);
  EXPECT_NEAR(j["decode_tokens_per_second"]["total"].get<double>(),
              16 * j["decode_tokens_per_second"]["per_user"].get<double>(), 1e-6);
  EXPECT_TRUE(j["estimate"].get<bool>());
  EXPECT_FALSE(j["assumptions"].empty());
  EXPECT_EQ(j["total_bytes"].get<uint64_t>(),
            j["weights_bytes"].get<uint64_t>() + j["kv_cache_bytes"].get<uint64_t>() +
                j["activation_bytes_per_device"].get<uint64_t>() + j["overhead_bytes_per_device"].get<uint64_t>());
}

TEST(PlanTool, BriefCases) {
  EXPECT_EQ(plan_json("--preset llama-2-7b --gpu a100-80gb")["gpus"], 1);
  EXPECT_EQ(plan_json("--preset falcon-40b --quant f16 --gpu a100-80gb")["gpus"], 2);
  EXPECT_EQ(plan_json("--preset falcon-40b --quant f16 --gpu a100-40gb")["gpus"], 4);
  EXPECT_EQ(plan_json("--preset qwen-72b --gpu a100-80gb")["gpus"], 8);
}

TEST(PlanTool, TableOutput) {
  int status = -1;
  const std::string out = test::run_command(plan_cmd("--preset qwen2.5-7b --gpu l40s"), &status);
  EXPECT_EQ(status, 0);
  for (const char* s : {"weights", "KV cache", "devices", "tokens/s per user", "assumptions:", "estimate"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
}

TEST(PlanTool, Tco) {
  const json j = plan_json("--preset llama-2-7b --tco --cloud-hourly 5 --server-cost 80000 --years 3");
  ASSERT_TRUE(j.contains("tco"));
  EXPECT_EQ(j["tco"]["break_even_month"], 22);
  EXPECT_TRUE(j["tco"]["pays_back_within_life"].get<bool>());
  EXPECT_GT(j["tco"]["cloud_cost_per_million_tokens"].get<double>(), j["tco"]["own_cost_per_million_tokens"].get<double>());
  const json busy = plan_json("--preset llama-2-7b --tco --cloud-hourly 5 --server-cost 80000 --years 3 --utilisation 0.6");
  EXPECT_EQ(busy["tco"]["break_even_month"], 37);

  int status = -1;
  const std::string table = test::run_command(plan_cmd("--preset llama-2-7b --tco --cloud-hourly 5 --server-cost 80000 --years 3"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(table.find("break-even          month 22"), std::string::npos) << table;
  EXPECT_NE(table.find("per 1M tokens"), std::string::npos) << table;
}

TEST(PlanTool, ReadsARealGguf) {
  const std::string path = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(path);
  const json j = plan_json("--model " + path + " --gpu cpu --users 1");
  EXPECT_EQ(j["model"]["source"], "gguf");
  EXPECT_EQ(j["model"]["layers"], 5);
  EXPECT_EQ(j["model"]["kv_heads"], 4);
  EXPECT_EQ(j["context"], 128);  // the file's context_length
  EXPECT_EQ(j["gpus"], 1);
  EXPECT_EQ(j["kv_cache_bytes"], 2 * 5 * 4 * 8 * 2 * 128);
  EXPECT_EQ(j["disk_bytes"], 1185376);  // the file's size
  // What-if: the same model quantized.
  const json q = plan_json("--model " + path + " --gpu cpu --quant q8_0");
  EXPECT_LT(q["weights_bytes"].get<uint64_t>(), j["weights_bytes"].get<uint64_t>() / 3);
}

TEST(PlanTool, ListAndHelp) {
  int status = -1;
  const std::string list = test::run_command(plan_cmd("--list"), &status);
  EXPECT_EQ(status, 0);
  for (const char* s : {"falcon-40b", "qwen-72b", "qwen2.5-0.5b", "llama-3.1-70b", "jetson-orin-64gb", "q4_k_m"})
    EXPECT_NE(list.find(s), std::string::npos) << s;
  const std::string help = test::run_command(test::citadel_binary() + " --help", &status);
  EXPECT_NE(help.find("plan"), std::string::npos);
}

TEST(PlanTool, BadFlagsFailClearly) {
  std::string out;
  EXPECT_NE(run_failing("--preset llama-2-7b --gpu tpu-v5", &out), 0);
  EXPECT_NE(out.find("unknown device 'tpu-v5'"), std::string::npos) << out;
  EXPECT_NE(run_failing("--preset llama-2-7b --quant q9_z", &out), 0);
  EXPECT_NE(out.find("unknown quantization"), std::string::npos) << out;
  EXPECT_NE(run_failing("--preset gpt-5", &out), 0);
  EXPECT_NE(out.find("unknown preset"), std::string::npos) << out;
  EXPECT_NE(run_failing("--gpu a100-80gb", &out), 0);
  EXPECT_NE(out.find("--model"), std::string::npos) << out;
  EXPECT_NE(run_failing("--preset llama-2-7b --users 0", &out), 0);
  EXPECT_NE(run_failing("--preset llama-2-7b --users many", &out), 0);
  EXPECT_NE(run_failing("--preset llama-2-7b --cloud-hourly 5", &out), 0);
  EXPECT_NE(out.find("needs --tco"), std::string::npos) << out;
  EXPECT_NE(run_failing("--preset llama-2-7b --tco --utilisation 1.5", &out), 0);
  EXPECT_NE(run_failing("--preset llama-2-7b --model x.gguf", &out), 0);
  EXPECT_NE(run_failing("--model /nonexistent/model.gguf", &out), 0);
  EXPECT_NE(run_failing("--preset llama-2-7b --no-such-flag", &out), 0);
}

TEST(PlanTool, RejectsAFileThatIsNotAModel) {
  std::string out;
  EXPECT_NE(run_failing("--model " + test::source_dir() + "/CMakeLists.txt", &out), 0);
  EXPECT_NE(out.find("error"), std::string::npos) << out;
}

}  // namespace
}  // namespace citadel

namespace citadel {
namespace {

// Peak resident memory (KiB) of `args` run with stdout to /dev/null: VmHWM of the child, polled
// from /proc (rusage would also count the image of the parent it was forked from).
int64_t peak_rss_kib(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int64_t peak = -1;
  int status = 0;
  const std::string status_path = "/proc/" + std::to_string(pid) + "/status";
  for (;;) {
    std::ifstream in(status_path);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("VmHWM:", 0) == 0) peak = std::max<int64_t>(peak, std::stoll(line.substr(6)));
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    usleep(2000);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? peak : -1;
}

// The planner's CPU estimate against the resident memory of `citadel generate` with its KV cache
// filled (the engine keeps K/V in f32): within 15%.
void expect_rss_close(const std::string& model, int64_t context) {
  const int64_t rss = peak_rss_kib({test::citadel_binary(), "generate", "-m", model, "-p", "Once upon a time", "-c",
                                    std::to_string(context), "-n", std::to_string(context), "--ignore-eos",
                                    "--temperature", "0", "-t", "2"});
  if (rss <= 0) GTEST_SKIP() << "citadel generate failed on " << model << ": nothing to compare with (see its own tests)";
  const json j = plan_json("--model " + model + " --gpu cpu --users 1 --kv-type f32 --context " + std::to_string(context));
  const double estimate = j["total_bytes"].get<double>() / 1024;
  EXPECT_NEAR(estimate / static_cast<double>(rss), 1.0, 0.15) << model << ": estimate " << estimate << " KiB, measured " << rss << " KiB";
  std::printf("%s: planned %.0f KiB, measured %lld KiB resident\n", model.c_str(), estimate, static_cast<long long>(rss));
}

TEST(PlanTool, ResidentMemoryOfGenerateStories260k) {
  const std::string path = test::models_dir() + "/stories260K/stories260K-f32.gguf";
  REQUIRE_FILE(path);
  expect_rss_close(path, 128);
}

TEST(PlanTool, ResidentMemoryOfGenerateLlama110m) {
  // A random-weight model of the stories110M shape (speed and memory do not depend on weight values).
  const std::string path = testing::TempDir() + "plan-llama-110m-q8_0.gguf";
  int status = -1;
  test::run_command(test::citadel_binary() + " synth --shape llama-110m --type q8_0 " + path + " -t 2 >/dev/null 2>&1", &status);
  if (status != 0) GTEST_SKIP() << "citadel synth is not available";
  expect_rss_close(path, 128);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace citadel
