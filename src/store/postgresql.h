#pragma once
// The PostgreSQL engine of the store's SQL layer (sql.h), through libpq: what it exposes beyond
// Db::open_postgresql, for the store and its tests. Internal to src/store.

#include <string>
#include <string_view>

namespace pamproxy::store::sql {

// The store writes SQLite's positional parameters; PostgreSQL numbers them with `$`. Rewrites
// `?N` to `$N` and a bare `?` to the next number, outside quoted strings and identifiers.
// `*count` (when given) receives the highest parameter number.
std::string to_dollar_params(std::string_view sql, int* count = nullptr);

// Where a connection string names a password, the same string without it (for logs and
// errors); other keys kept.
std::string describe_conninfo(const std::string& conninfo);

}  // namespace pamproxy::store::sql
