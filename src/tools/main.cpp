// citadel <command> [options]: dispatches to the registered subcommands (one file each).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "tools/tool.h"

namespace citadel {
std::vector<Tool>& tool_registry() {
  static std::vector<Tool> tools;
  return tools;
}
}  // namespace citadel

static void print_usage() {
  auto tools = citadel::tool_registry();
  std::sort(tools.begin(), tools.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::printf("Citadel: run open LLMs on your own machines.\n\nUsage: citadel <command> [options]\n\nCommands:\n");
  for (const auto& t : tools) std::printf("  %-14s %s\n", t.name.c_str(), t.summary.c_str());
  std::printf("\nRun 'citadel <command> --help' for the options of a command.\n");
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  for (const auto& tool : citadel::tool_registry()) {
    if (tool.name != name) continue;
    std::string prog = "citadel " + name;
    argv[1] = prog.data();
    try {
      return tool.run(argc - 1, argv + 1);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "citadel %s: error: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "citadel: unknown command '%s' (see 'citadel --help')\n", name.c_str());
  return 2;
}
