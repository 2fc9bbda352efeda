// Each subcommand lives in its own file under tools/ and registers itself here:
//   static const citadel::ToolRegistration reg{"generate", "generate text from a prompt", run_generate};
// The function gets argv with argv[0] = "citadel <name>" and returns the process exit code.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace citadel {

struct Tool {
  std::string name;
  std::string summary;
  std::function<int(int, char**)> run;
};

std::vector<Tool>& tool_registry();

struct ToolRegistration {
  ToolRegistration(std::string name, std::string summary, std::function<int(int, char**)> run) {
    tool_registry().push_back({std::move(name), std::move(summary), std::move(run)});
  }
};

}  // namespace citadel
