#pragma once
// Versioned schema migrations, one list for both engines. The schema version is SQLite's
// user_version or PostgreSQL's pamproxy_schema row; migration N takes the database from version
// N-1 to N inside one transaction, so a failed step changes nothing. A database newer than the
// last migration known here is refused, never touched. Internal.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "src/store/sql.h"

namespace pamproxy::store {

struct Migration {
  int64_t version;
  std::string_view sql;
};

std::span<const Migration> migrations();
// A migration's text for PostgreSQL: the same statements with its type names (BLOB is BYTEA,
// INTEGER is BIGINT: times in nanoseconds do not fit in PostgreSQL's 32-bit INTEGER).
std::string to_postgresql_schema(std::string_view sql);
int64_t latest_schema_version();

// Applies the migrations after the database's current version, in order.
absl::Status migrate(sql::Db& db, std::span<const Migration> list);

}  // namespace pamproxy::store
