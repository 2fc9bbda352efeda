// citadel plan: will a model fit, on how many devices, how fast, and what does it cost.
// Thin: flags -> engine/capacity_plan (memory, devices, speed) and capacity_plan_tco (cost).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor_type.h"
#include "engine/capacity_plan.h"
#include "engine/capacity_plan_loader.h"
#include "engine/capacity_plan_quant.h"
#include "engine/capacity_plan_tco.h"
#include "engine/hardware_catalog.h"
#include "engine/model_presets.h"
#include "tools/tool.h"

namespace {
using namespace citadel;
using nlohmann::json;

constexpr double kGiB = 1024.0 * 1024 * 1024;

std::string bytes_str(uint64_t b) {
  char buf[64];
  if (b >= kGiB) std::snprintf(buf, sizeof buf, "%.2f GiB", b / kGiB);
  else if (b >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / double(1u << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  return buf;
}

// 1234567.8 -> "1,234,568"
std::string money(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v < 0 ? -v : v);
  std::string digits = buf, out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (v < 0 ? "-" : "") + out;
}

struct Options {
  std::string model, preset, quant, gpu = "a100-80gb", kv_type = "f16";
  int64_t context = 0, users = 16;
  double min_tps = 10, device_memory_gib = 0, device_bandwidth_gbs = 0, device_tflops = 0;
  bool json = false, list = false, tco = false;
  TcoInput tco_in;
  bool tco_flags_given = false;
};

void print_lists() {
  std::printf("Presets (published hyper-parameters):\n");
  for (const auto& p : model_presets()) std::printf("  %-16s %s\n", p.shape.name.c_str(), p.description.c_str());
  std::printf("\nDevices (data-sheet figures):\n");
  for (const auto& d : device_catalog())
    std::printf("  %-17s %-48s %6.1f GiB %7.1f GB/s %6.1f TFLOPS\n", d.name.c_str(), d.description.c_str(),
                d.memory_bytes / kGiB, d.bandwidth / 1e9, d.flops / 1e12);
  std::printf("\nQuantizations: %s\n", quant_names().c_str());
}

json plan_json(const ModelShape& m, const DeviceSpec& d, const Plan& p) {
  json j;
  j["estimate"] = true;
  j["model"] = {{"name", m.name}, {"source", m.source}, {"architecture", m.architecture}, {"parameters", p.n_params},
                {"layers", m.n_layers}, {"hidden_size", m.d_model}, {"heads", m.n_heads}, {"kv_heads", m.n_kv_heads},
                {"head_dim", m.head_dim}, {"ffn_size", m.ffn_dim}, {"vocab_size", m.vocab},
                {"context_length", m.context_length}};
  j["quant"] = p.quant;
  j["bits_per_weight"] = p.bits_per_weight;
  j["context"] = p.context;
  j["users"] = p.users;
  j["device"] = {{"name", d.name}, {"description", d.description}, {"memory_bytes", d.memory_bytes},
                 {"bandwidth_bytes_per_second", d.bandwidth}, {"flops", d.flops}};
  j["weights_bytes"] = p.weights_bytes;
  j["resident_weights_bytes"] = p.resident_weights_bytes;
  j["kv_cache_bytes"] = p.kv_cache_bytes;
  j["kv_bytes_per_token"] = p.kv_bytes_per_token;
  j["activation_bytes_per_device"] = p.activation_bytes;
  j["overhead_bytes_per_device"] = p.overhead_bytes;
  j["total_bytes"] = p.total_bytes;
  j["gpus"] = p.devices;
  j["devices_for_memory"] = p.devices_for_memory;
  j["memory_per_device_bytes"] = p.memory_per_device_bytes;
  j["usable_per_device_bytes"] = p.usable_per_device_bytes;
  j["fits"] = p.fits;
  j["decode_tokens_per_second"] = {{"per_user", p.tokens_per_second_per_user}, {"total", p.tokens_per_second_total}};
  j["bound"] = p.compute_bound ? "compute" : "memory-bandwidth";
  j["prefill_tokens_per_second"] = p.prefill_tokens_per_second;
  j["time_to_first_token_seconds"] = p.time_to_first_token_seconds;
  j["disk_bytes"] = p.disk_bytes;
  j["assumptions"] = p.assumptions;
  j["warnings"] = p.warnings;
  return j;
}

void print_plan(const ModelShape& m, const DeviceSpec& d, const Plan& p) {
  const bool billions = p.n_params >= 1e9;
  std::printf("citadel plan: %s (%s, %s), %.2f %s parameters\n", m.name.c_str(), m.source.c_str(), m.architecture.c_str(),
              p.n_params / (billions ? 1e9 : 1e6), billions ? "B" : "M");
  std::printf("  quantization        %s (%.2f bits per weight)\n", p.quant.c_str(), p.bits_per_weight);
  std::printf("  context x users     %lld x %lld\n", static_cast<long long>(p.context), static_cast<long long>(p.users));
  std::printf("  device              %s (%s: %.1f GiB, %.0f GB/s, %.0f TFLOPS)\n\n", d.name.c_str(), d.description.c_str(),
              d.memory_bytes / kGiB, d.bandwidth / 1e9, d.flops / 1e12);
  std::printf("  weights             %s", bytes_str(p.weights_bytes).c_str());
  if (p.resident_weights_bytes != p.weights_bytes)
    std::printf(" (%s resident, the embedding stays mapped)", bytes_str(p.resident_weights_bytes).c_str());
  std::printf("\n");
  std::printf("  KV cache            %s (%s per token)\n", bytes_str(p.kv_cache_bytes).c_str(), bytes_str(p.kv_bytes_per_token).c_str());
  std::printf("  activations         %s per device\n", bytes_str(p.activation_bytes).c_str());
  std::printf("  runtime overhead    %s per device\n", bytes_str(p.overhead_bytes).c_str());
  std::printf("  total               %s\n", bytes_str(p.total_bytes).c_str());
  std::printf("  devices             %d x %s%s (%s of %s usable on each)\n", p.devices, d.name.c_str(),
              p.fits ? "" : " - DOES NOT FIT", bytes_str(p.memory_per_device_bytes).c_str(),
              bytes_str(p.usable_per_device_bytes).c_str());
  std::printf("  decode (estimate)   %.1f tokens/s per user, %.0f tokens/s in total (%s bound)\n",
              p.tokens_per_second_per_user, p.tokens_per_second_total, p.compute_bound ? "compute" : "memory-bandwidth");
  std::printf("  prefill (estimate)  %.0f tokens/s; first token after %.2f s for a %lld-token prompt\n",
              p.prefill_tokens_per_second, p.time_to_first_token_seconds, static_cast<long long>(p.context));
  std::printf("  disk                %s\n", bytes_str(p.disk_bytes).c_str());
  std::printf("\nassumptions:\n");
  for (const auto& a : p.assumptions) std::printf("  - %s\n", a.c_str());
  if (!p.warnings.empty()) {
    std::printf("warnings:\n");
    for (const auto& w : p.warnings) std::printf("  ! %s\n", w.c_str());
  }
}

json tco_json(const TcoInput& in, const TcoResult& r) {
  return {{"cloud_hourly", in.cloud_hourly}, {"server_cost", in.server_cost}, {"years", in.years},
          {"utilisation", in.utilisation}, {"energy_price_per_kwh", in.energy_price}, {"power_watts", in.power_watts},
          {"tokens_per_second", in.tokens_per_second}, {"cloud_per_month", r.cloud_per_month},
          {"own_running_per_month", r.own_running_per_month}, {"cloud_total", r.cloud_total}, {"own_total", r.own_total},
          {"break_even_month", r.break_even_month ? json(*r.break_even_month) : json(nullptr)},
          {"pays_back_within_life", r.pays_back_within_life},
          {"cloud_cost_per_million_tokens", r.cloud_cost_per_million_tokens},
          {"own_cost_per_million_tokens", r.own_cost_per_million_tokens}, {"savings_over_life", r.savings_over_life}};
}

void print_tco(const TcoInput& in, const TcoResult& r) {
  const int months = static_cast<int>(in.years * 12 + 0.5);
  std::printf("\ncost: owning vs renting over %d months at %.0f%% utilisation\n", months, in.utilisation * 100);
  std::printf("  rent                %s USD per month (%.2f USD/h x %.0f busy hours)\n", money(r.cloud_per_month).c_str(),
              in.cloud_hourly, r.hours_per_month * in.utilisation);
  std::printf("  own                 %s USD up front + %s USD per month energy\n", money(in.server_cost).c_str(),
              money(r.own_running_per_month).c_str());
  if (r.break_even_month)
    std::printf("  break-even          month %d (%s)\n", *r.break_even_month,
                r.pays_back_within_life ? "pays back within the server's life" : "after the server's life: renting is cheaper");
  else
    std::printf("  break-even          never: renting costs no more than running the server\n");
  std::printf("  per 1M tokens       rent %.2f USD, own %.2f USD (at %.0f tokens/s)\n", r.cloud_cost_per_million_tokens,
              r.own_cost_per_million_tokens, in.tokens_per_second);
  std::printf("  over the life       rent %s USD, own %s USD: owning %s %s USD\n", money(r.cloud_total).c_str(),
              money(r.own_total).c_str(), r.savings_over_life >= 0 ? "saves" : "costs an extra",
              money(std::fabs(r.savings_over_life)).c_str());
}

int run_plan(int argc, char** argv) {
  Options o;
  CLI::App app{"Will a model fit, on how many devices, how fast and at what cost (estimates)", argv[0]};
  app.get_formatter()->column_width(34);
  auto* model = app.add_option("--model,-m", o.model, "GGUF file, Hugging Face folder or config.json")->check(CLI::ExistingPath);
  auto* preset = app.add_option("--preset,-p", o.preset, "a known model (see --list)");
  model->excludes(preset);
  app.add_option("--quant,-q", o.quant, "weight format: f16, q8_0, q4_k_m, ... (default: as stored, f16 for presets)");
  app.add_option("--context,-c", o.context, "tokens per user (default: min(4096, trained context))")->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  app.add_option("--users,-u", o.users, "concurrent users decoding together")->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  app.add_option("--gpu,--device", o.gpu, "device kind: " + device_names());
  app.add_option("--kv-type", o.kv_type, "KV cache element type (f16, q8_0, f32)");
  app.add_option("--min-tokens-per-second", o.min_tps, "per-user decode speed counted as real time")->check(CLI::NonNegativeNumber);
  app.add_option("--device-memory", o.device_memory_gib, "override: memory per device, GiB")->check(CLI::PositiveNumber);
  app.add_option("--device-bandwidth", o.device_bandwidth_gbs, "override: memory bandwidth, GB/s")->check(CLI::PositiveNumber);
  app.add_option("--device-tflops", o.device_tflops, "override: peak FP16 TFLOPS")->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json, "print JSON");
  app.add_flag("--list", o.list, "list presets, devices and quantizations");
  app.add_flag("--tco", o.tco, "add the cost of owning versus renting");
  std::vector<CLI::Option*> tco_opts{
      app.add_option("--cloud-hourly", o.tco_in.cloud_hourly, "USD per hour to rent the capacity")->check(CLI::NonNegativeNumber),
      app.add_option("--server-cost", o.tco_in.server_cost, "USD to buy and maintain the server")->check(CLI::NonNegativeNumber),
      app.add_option("--years", o.tco_in.years, "life of the server")->check(CLI::PositiveNumber),
      app.add_option("--utilisation,--utilization", o.tco_in.utilisation, "share of hours busy, (0, 1]")->check(CLI::Range(0.001, 1.0)),
      app.add_option("--energy-price", o.tco_in.energy_price, "USD per kWh (0: included in the server cost)")->check(CLI::NonNegativeNumber),
      app.add_option("--power-watts", o.tco_in.power_watts, "server power draw (default: devices' TDP + host)")->check(CLI::NonNegativeNumber)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (o.list) {
    print_lists();
    return 0;
  }
  if (o.model.empty() && o.preset.empty()) {
    std::fprintf(stderr, "citadel plan: error: give --model PATH or --preset NAME (see --list)\n");
    return 2;
  }
  for (auto* opt : tco_opts)
    if (opt->count() && !o.tco) {
      std::fprintf(stderr, "citadel plan: error: %s needs --tco\n", opt->get_name().c_str());
      return 2;
    }

  DeviceSpec device;
  PlanRequest req;
  ModelShape shape;
  try {
    device = find_device(o.gpu);
    req.kv_type = parse_type_name(o.kv_type);
    if (!o.quant.empty()) parse_quant(o.quant);  // reject a bad name before reading a big file
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "citadel plan: error: %s\n", e.what());
    return 2;
  }
  if (o.device_memory_gib > 0) device.memory_bytes = static_cast<uint64_t>(o.device_memory_gib * kGiB);
  if (o.device_bandwidth_gbs > 0) device.bandwidth = o.device_bandwidth_gbs * 1e9;
  if (o.device_tflops > 0) device.flops = o.device_tflops * 1e12;
  shape = o.model.empty() ? find_preset(o.preset) : load_model_shape(o.model);

  req.quant = o.quant;
  req.context = o.context;
  req.users = o.users;
  req.device = device;
  req.min_tokens_per_second = o.min_tps;
  Plan plan = plan_capacity(shape, req);
  if (o.device_memory_gib > 0 || o.device_bandwidth_gbs > 0 || o.device_tflops > 0)
    plan.assumptions.push_back("device figures overridden on the command line");

  json out = plan_json(shape, device, plan);
  TcoInput tin = o.tco_in;
  TcoResult tres;
  if (o.tco) {
    tin.tokens_per_second = plan.tokens_per_second_total;
    // Devices' board power plus the host around them, unless given.
    if (!tin.power_watts) tin.power_watts = plan.devices * device.watts + (device.is_gpu ? 500 : 100);
    tres = compute_tco(tin);
    out["tco"] = tco_json(tin, tres);
  }
  if (o.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  print_plan(shape, device, plan);
  if (o.tco) print_tco(tin, tres);
  return 0;
}

const citadel::ToolRegistration reg{"plan", "hardware, memory, speed and cost estimates for a model", run_plan};

}  // namespace
