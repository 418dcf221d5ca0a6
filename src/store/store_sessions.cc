// Session reports in the store: upserted by the session indexer, read by the admin API.

#include <string>

#include "src/store/store_impl.h"

namespace pamproxy::store {
namespace {

constexpr std::string_view kColumns =
    "id, first_seq, \"user\", token_id, record_id, record_name, source_ip, started_ns, last_ns, "
    "requests, denied, bytes_in, bytes_out, open";
constexpr std::string_view kUpsert =
    "ON CONFLICT (id) DO UPDATE SET first_seq = excluded.first_seq, \"user\" = "
    "excluded.\"user\", token_id = excluded.token_id, record_id = excluded.record_id, "
    "record_name = excluded.record_name, source_ip = excluded.source_ip, started_ns = "
    "excluded.started_ns, last_ns = excluded.last_ns, requests = excluded.requests, denied = "
    "excluded.denied, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, open = "
    "excluded.open, report_json = excluded.report_json, report_text = excluded.report_text";

audit::SessionReport read_row(const sql::Stmt& st, bool with_reports) {
  audit::SessionReport r;
  r.id = st.text(0);
  r.first_seq = static_cast<uint64_t>(st.integer(1));
  r.user = st.text(2);
  r.token_id = st.text(3);
  r.record_id = st.text(4);
  r.record_name = st.text(5);
  r.source_ip = st.text(6);
  r.started_unix_ns = st.integer(7);
  r.last_unix_ns = st.integer(8);
  r.requests = static_cast<uint64_t>(st.integer(9));
  r.denied = static_cast<uint64_t>(st.integer(10));
  r.bytes_in = static_cast<uint64_t>(st.integer(11));
  r.bytes_out = static_cast<uint64_t>(st.integer(12));
  r.open = st.integer(13) != 0;
  if (with_reports) {
    r.report_json = st.text(14);
    r.report_text = st.text(15);
  }
  return r;
}

int64_t i64(uint64_t v) {
  return static_cast<int64_t>(v);
}

}  // namespace

absl::Status Store::save_sessions(std::span<const audit::SessionReport> sessions,
                                  uint64_t resume_seq, std::span<const TokenUse> token_uses) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::transaction(impl_->db, [&]() -> absl::Status {
    for (const audit::SessionReport& r : sessions) {
      absl::Status s = sql::run(
          impl_->db,
          policy::cat("INSERT INTO sessions (", kColumns,
                      ", report_json, report_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                      "?, ?, ?) ",
                      kUpsert),
          r.id, i64(r.first_seq), r.user, r.token_id, r.record_id, r.record_name, r.source_ip,
          r.started_unix_ns, r.last_unix_ns, i64(r.requests), i64(r.denied), i64(r.bytes_in),
          i64(r.bytes_out), r.open, r.report_json, r.report_text);
      if (!s.ok()) return s;
    }
    if (absl::Status s = impl_->touch_tokens(token_uses); !s.ok()) return s;
    return sql::run(impl_->db, "UPDATE session_index SET resume_seq = ? WHERE id = 1",
                    i64(resume_seq));
  });
}

uint64_t Store::session_resume_seq() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto v = impl_->db.query_int("SELECT resume_seq FROM session_index WHERE id = 1");
  return v.ok() && *v > 0 ? static_cast<uint64_t>(*v) : 1;
}

std::vector<audit::SessionReport> Store::list_sessions(const audit::SessionQuery& q) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Every filter is bound (a disabled one matches everything), so one statement serves all.
  auto rows = sql::load_rows<audit::SessionReport>(
      impl_->db,
      policy::cat("SELECT ", kColumns,
                  " FROM sessions WHERE (?1 = '' OR \"user\" = ?1) AND (?2 = '' OR record_id = ?2 OR "
                  "record_name = ?2) AND last_ns >= ?3 AND started_ns < ?4 AND first_seq < ?5 "
                  "ORDER BY first_seq DESC LIMIT ?6"),
      [](const sql::Stmt& st) { return read_row(st, false); }, q.user, q.record,
      q.since_unix_ns.value_or(INT64_MIN), q.until_unix_ns.value_or(INT64_MAX),
      q.before_seq == 0 ? INT64_MAX : i64(q.before_seq), static_cast<int64_t>(q.limit));
  return rows.ok() ? std::move(*rows) : std::vector<audit::SessionReport>();
}

absl::StatusOr<audit::SessionReport> Store::get_session(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = sql::load_rows<audit::SessionReport>(
      impl_->db,
      policy::cat("SELECT ", kColumns, ", report_json, report_text FROM sessions WHERE id = ?1"),
      [](const sql::Stmt& st) { return read_row(st, true); }, id);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(policy::cat("no session with id '", id, "'"));
  return std::move(rows->front());
}

}  // namespace pamproxy::store
