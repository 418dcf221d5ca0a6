// Session reports in the store: upserted by the session indexer, read by the admin API.

#include <string>

#include "src/store/store_impl.h"

namespace pamproxy::store {
namespace {

constexpr std::string_view kColumns =
    "id, first_seq, user, token_id, record_id, record_name, source_ip, started_ns, last_ns, "
    "requests, denied, bytes_in, bytes_out, open";

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
                                  uint64_t resume_seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::transaction(impl_->db, [&]() -> absl::Status {
    for (const audit::SessionReport& r : sessions) {
      auto one = impl_->db.prepare(policy::cat(
          "INSERT OR REPLACE INTO sessions (", kColumns,
          ", report_json, report_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      if (!one.ok()) return one.status();
      one->bind(1, r.id)
          .bind(2, i64(r.first_seq))
          .bind(3, r.user)
          .bind(4, r.token_id)
          .bind(5, r.record_id)
          .bind(6, r.record_name)
          .bind(7, r.source_ip)
          .bind(8, r.started_unix_ns)
          .bind(9, r.last_unix_ns)
          .bind(10, i64(r.requests))
          .bind(11, i64(r.denied))
          .bind(12, i64(r.bytes_in))
          .bind(13, i64(r.bytes_out))
          .bind(14, int64_t{r.open ? 1 : 0})
          .bind(15, r.report_json)
          .bind(16, r.report_text);
      if (absl::Status s = one->run(); !s.ok()) return s;
    }
    auto idx = impl_->db.prepare("UPDATE session_index SET resume_seq = ? WHERE id = 1");
    if (!idx.ok()) return idx.status();
    idx->bind(1, i64(resume_seq));
    return idx->run();
  });
}

uint64_t Store::session_resume_seq() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto v = impl_->db.query_int("SELECT resume_seq FROM session_index WHERE id = 1");
  return v.ok() && *v > 0 ? static_cast<uint64_t>(*v) : 1;
}

namespace {

std::vector<audit::SessionReport> list_from(sql::Db& db, const audit::SessionQuery& q) {
  // Every filter is bound (a disabled one matches everything), so one statement serves all.
  auto st = db.prepare(
      policy::cat("SELECT ", kColumns,
                  " FROM sessions WHERE (?1 = '' OR user = ?1) AND (?2 = '' OR record_id = ?2 OR "
                  "record_name = ?2) AND last_ns >= ?3 AND started_ns < ?4 AND first_seq < ?5 "
                  "ORDER BY first_seq DESC LIMIT ?6"));
  std::vector<audit::SessionReport> out;
  if (!st.ok()) return out;
  st->bind(1, q.user)
      .bind(2, q.record)
      .bind(3, q.since_unix_ns.value_or(INT64_MIN))
      .bind(4, q.until_unix_ns.value_or(INT64_MAX))
      .bind(5, q.before_seq == 0 ? INT64_MAX : i64(q.before_seq))
      .bind(6, static_cast<int64_t>(q.limit));
  for (;;) {
    auto row = st->step();
    if (!row.ok() || !*row) break;
    out.push_back(read_row(*st, false));
  }
  return out;
}

absl::StatusOr<audit::SessionReport> get_from(sql::Db& db, std::string_view id) {
  auto st = db.prepare(
      policy::cat("SELECT ", kColumns, ", report_json, report_text FROM sessions WHERE id = ?"));
  if (!st.ok()) return st.status();
  st->bind(1, id);
  auto row = st->step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(policy::cat("no session with id '", id, "'"));
  return read_row(*st, true);
}

}  // namespace

std::vector<audit::SessionReport> Store::list_sessions(const audit::SessionQuery& q) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return list_from(impl_->db, q);
}

absl::StatusOr<audit::SessionReport> Store::get_session(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return get_from(impl_->db, id);
}

}  // namespace pamproxy::store
