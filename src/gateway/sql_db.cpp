#include "gateway/sql_db.h"

#include "gateway/postgres_db.h"
#include "gateway/sqlite_db.h"

namespace citadel {

bool is_postgres_url(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::unique_ptr<SqlDb> open_sql_db(const std::string& location) {
  if (is_postgres_url(location)) return std::make_unique<PostgresDb>(location);
  return std::make_unique<SqliteDb>(location);
}

std::string redact_db_location(const std::string& location) {
  if (!is_postgres_url(location)) return location;
  // scheme://user:password@host...: the password ends at the last '@' before the path.
  const size_t start = location.find("://") + 3;
  const size_t slash = location.find('/', start);
  const size_t at = location.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  std::string out = location;
  if (at != std::string::npos && at >= start) {
    const size_t colon = location.find(':', start);
    if (colon != std::string::npos && colon < at) out = location.substr(0, colon + 1) + "***" + location.substr(at);
  }
  // A password may also come as a query parameter.
  const size_t q = out.find("password=");
  if (q != std::string::npos && (out[q - 1] == '?' || out[q - 1] == '&')) {
    const size_t end = out.find('&', q);
    out = out.substr(0, q + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

int64_t as_int(const SqlDb::Value& v) {
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    try {
      return std::stoll(*s);
    } catch (const std::exception&) {
    }
  }
  return 0;
}

std::string as_text(const SqlDb::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  return "";
}

}  // namespace citadel
