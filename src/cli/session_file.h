#pragma once
// Session reports read straight from a store file, for `pamctl sessions --db FILE` (or
// --config FILE) on the appliance, where no daemon call is needed. A narrow reader on purpose:
// it opens the file read-only with SQLite itself (safe beside a running daemon, which writes in
// WAL mode), reads only the `sessions` table, and needs no master key because sessions hold no
// secret. It must never write, and never include the store's headers: pamctl reaches the store
// only through the admin API, and this file is the one exception, limited to reading sessions.

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/audit/session.h"

namespace pamproxy::cli {

class SessionFile {
 public:
  // Fails when the file cannot be opened read-only or has no sessions table yet.
  static absl::StatusOr<std::unique_ptr<SessionFile>> open(const std::string& database_file);
  ~SessionFile();
  SessionFile(const SessionFile&) = delete;
  SessionFile& operator=(const SessionFile&) = delete;

  // Newest first (audit::SessionPosition's order), without the reports; empty when the file
  // cannot be read.
  std::vector<audit::SessionReport> list(const audit::SessionQuery& query);
  // One session with both forms of its report.
  absl::StatusOr<audit::SessionReport> get(std::string_view id);

 private:
  explicit SessionFile(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace pamproxy::cli
