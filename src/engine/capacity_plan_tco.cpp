#include "engine/capacity_plan_tco.h"

#include <cmath>
#include <stdexcept>

namespace citadel {

TcoResult compute_tco(const TcoInput& in) {
  if (in.cloud_hourly < 0 || in.server_cost < 0 || in.energy_price < 0 || in.power_watts < 0)
    throw std::invalid_argument("costs and power must not be negative");
  if (!(in.years > 0)) throw std::invalid_argument("years must be positive");
  if (!(in.utilisation > 0 && in.utilisation <= 1)) throw std::invalid_argument("utilisation must be in (0, 1]");

  TcoResult r;
  const double busy_hours = r.hours_per_month * in.utilisation;
  const double months = in.years * 12;
  r.cloud_per_month = in.cloud_hourly * busy_hours;
  r.own_running_per_month = in.power_watts / 1000 * busy_hours * in.energy_price;
  r.own_total = in.server_cost + r.own_running_per_month * months;
  r.cloud_total = r.cloud_per_month * months;
  r.savings_over_life = r.cloud_total - r.own_total;

  const double saving_per_month = r.cloud_per_month - r.own_running_per_month;
  if (saving_per_month > 0) {
    r.break_even_month = static_cast<int>(std::ceil(in.server_cost / saving_per_month));
    if (*r.break_even_month < 1) r.break_even_month = 1;
    r.pays_back_within_life = *r.break_even_month <= months;
  }

  if (in.tokens_per_second > 0) {
    const double tokens_per_busy_hour = in.tokens_per_second * 3600;
    r.cloud_cost_per_million_tokens = in.cloud_hourly / tokens_per_busy_hour * 1e6;
    r.own_cost_per_million_tokens = r.own_total / (tokens_per_busy_hour * busy_hours * months) * 1e6;
  }
  return r;
}

}  // namespace citadel
