// Owning versus renting: when does a bought server pay back against renting cloud capacity, and
// what does a million generated tokens cost each way. Plain arithmetic over the user's figures:
//   rent per month  = cloud_hourly x 730 h x utilisation   (on-demand: pay for the hours used)
//   own per month   = energy (optional): power x 730 h x energy_price
//   break-even month = ceil(server_cost / (rent per month - own per month))
//   cost per million tokens = cost per busy hour / (tokens/s x 3600) x 1e6
#pragma once
#include <optional>

namespace citadel {

struct TcoInput {
  double cloud_hourly = 5;       // USD per hour for the equivalent rented capacity
  double server_cost = 80000;    // USD, purchase plus maintenance over the whole life
  double years = 3;              // life of the server
  double utilisation = 1.0;      // share of hours the model is busy (1 = steady use around the clock)
  double energy_price = 0;       // USD per kWh; 0 when the server cost already covers it
  double power_watts = 0;        // server draw while busy (devices + host)
  double tokens_per_second = 0;  // total decode throughput of the planned deployment
};

struct TcoResult {
  double hours_per_month = 730;
  double cloud_per_month = 0;
  double own_running_per_month = 0;       // energy
  double own_total = 0;                   // server + energy over the life
  double cloud_total = 0;                 // rent over the same life
  std::optional<int> break_even_month;    // none when renting is never dearer
  bool pays_back_within_life = false;
  double cloud_cost_per_million_tokens = 0;
  double own_cost_per_million_tokens = 0;  // life cost / tokens generated over the life
  double savings_over_life = 0;            // cloud_total - own_total (negative: renting is cheaper)
};

// Throws std::invalid_argument for negative costs, years <= 0 or utilisation outside (0, 1].
TcoResult compute_tco(const TcoInput& in);

}  // namespace citadel
