// Session reports in the store: upserted by the session indexer, read by the admin API.

#include <algorithm>
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

// A piece of a session as one node saw it: its summary and its report (commands), keyed by
// (node, first_seq).
constexpr std::string_view kPieceColumns =
    "first_seq, token_id, record_name, started_ns, last_ns, requests, denied, bytes_in, "
    "bytes_out, open, report_json";

absl::Status upsert_row(sql::Db& db, const audit::SessionReport& r) {
  return sql::run(db,
                  policy::cat("INSERT INTO sessions (", kColumns,
                              ", report_json, report_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                              "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ",
                              kUpsert),
                  r.id, i64(r.first_seq), r.user, r.token_id, r.record_id, r.record_name,
                  r.source_ip, r.started_unix_ns, r.last_unix_ns, i64(r.requests), i64(r.denied),
                  i64(r.bytes_in), i64(r.bytes_out), r.open, r.report_json, r.report_text);
}

// The first column of the first row of `query` ("" when there is none).
template <typename... Args>
absl::StatusOr<std::string> first_text(sql::Db& db, std::string_view query, const Args&... args) {
  auto rows = sql::load_rows<std::string>(
      db, query, [](const sql::Stmt& st) { return st.text(0); }, args...);
  if (!rows.ok()) return rows.status();
  return rows->empty() ? std::string() : std::move(rows->front());
}

// The session a piece belongs to: the one it joined when first saved; else a session of the same
// user, record and address active within `gap_ns` of it (another node's, or this node's saved
// before the store kept pieces); else a new one.
absl::StatusOr<std::string> session_of_piece(sql::Db& db, const audit::SessionReport& piece,
                                             std::string_view node, int64_t gap_ns) {
  auto mapped = first_text(db,
                           "SELECT session_id FROM session_pieces WHERE node = ?1 AND "
                           "first_seq = ?2",
                           node, i64(piece.first_seq));
  if (!mapped.ok() || !mapped->empty()) return mapped;
  auto joined = first_text(
      db,
      "SELECT id FROM sessions WHERE source_ip = ?1 AND \"user\" = ?2 AND record_id = ?3 AND "
      "last_ns >= ?4 AND started_ns <= ?5 ORDER BY started_ns, id LIMIT 1",
      piece.source_ip, piece.user, piece.record_id, piece.started_unix_ns - gap_ns,
      piece.last_unix_ns + gap_ns);
  if (!joined.ok() || !joined->empty()) return joined;
  auto taken = first_text(db, "SELECT id FROM sessions WHERE id = ?1", piece.id);
  if (!taken.ok()) return taken.status();
  return taken->empty() ? piece.id : policy::cat(piece.id, "-", node);
}

// The session row of `id` from all its pieces: the earliest piece's summary (who, first_seq),
// times spanning them all, counts summed, commands of every node in time order.
absl::StatusOr<audit::SessionReport> merge_pieces(sql::Db& db, std::string_view id,
                                                  const audit::SessionReport& piece) {
  auto pieces = sql::load_rows<audit::SessionReport>(
      db,
      policy::cat("SELECT ", kPieceColumns,
                  " FROM session_pieces WHERE session_id = ?1 ORDER BY started_ns, node"),
      [&](const sql::Stmt& st) {
        audit::SessionReport r;
        r.id = id;
        r.first_seq = static_cast<uint64_t>(st.integer(0));
        r.user = piece.user;
        r.token_id = st.text(1);
        r.record_id = piece.record_id;
        r.record_name = st.text(2);
        r.source_ip = piece.source_ip;
        r.started_unix_ns = st.integer(3);
        r.last_unix_ns = st.integer(4);
        r.requests = static_cast<uint64_t>(st.integer(5));
        r.denied = static_cast<uint64_t>(st.integer(6));
        r.bytes_in = static_cast<uint64_t>(st.integer(7));
        r.bytes_out = static_cast<uint64_t>(st.integer(8));
        r.open = st.integer(9) != 0;
        r.report_json = st.text(10);
        return r;
      },
      id);
  if (!pieces.ok()) return pieces.status();
  if (pieces->size() == 1 && id == piece.id) return piece;  // one node's session, as it is
  audit::Session merged;
  for (const audit::SessionReport& p : *pieces) {
    absl::StatusOr<audit::Session> s = audit::session_of_report(p);
    if (!s.ok()) return s.status();
    if (merged.id.empty()) {
      merged = std::move(*s);
      continue;
    }
    merged.started_unix_ns = std::min(merged.started_unix_ns, s->started_unix_ns);
    merged.last_unix_ns = std::max(merged.last_unix_ns, s->last_unix_ns);
    merged.requests += s->requests;
    merged.denied += s->denied;
    merged.bytes_in += s->bytes_in;
    merged.bytes_out += s->bytes_out;
    merged.open = merged.open || s->open;
    merged.commands_dropped += s->commands_dropped;
    merged.commands.insert(merged.commands.end(), std::make_move_iterator(s->commands.begin()),
                           std::make_move_iterator(s->commands.end()));
  }
  std::stable_sort(merged.commands.begin(), merged.commands.end(),
                   [](const audit::SessionCommand& a, const audit::SessionCommand& b) {
                     return a.time_unix_ns < b.time_unix_ns;
                   });
  return audit::stored_report(merged);
}

absl::Status save_piece(sql::Db& db, const audit::SessionReport& piece, std::string_view node,
                        int64_t gap_ns) {
  absl::StatusOr<std::string> id = session_of_piece(db, piece, node, gap_ns);
  if (!id.ok()) return id.status();
  absl::Status s = sql::run(
      db,
      policy::cat("INSERT INTO session_pieces (node, session_id, ", kPieceColumns,
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT "
                  "(node, first_seq) DO UPDATE SET token_id = excluded.token_id, record_name = "
                  "excluded.record_name, started_ns = excluded.started_ns, last_ns = "
                  "excluded.last_ns, requests = excluded.requests, denied = excluded.denied, "
                  "bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, open = "
                  "excluded.open, report_json = excluded.report_json"),
      node, *id, i64(piece.first_seq), piece.token_id, piece.record_name, piece.started_unix_ns,
      piece.last_unix_ns, i64(piece.requests), i64(piece.denied), i64(piece.bytes_in),
      i64(piece.bytes_out), piece.open, piece.report_json);
  if (!s.ok()) return s;
  absl::StatusOr<audit::SessionReport> row = merge_pieces(db, *id, piece);
  if (!row.ok()) return row.status();
  return upsert_row(db, *row);
}

}  // namespace

absl::Status Store::save_sessions(std::span<const audit::SessionReport> sessions,
                                  uint64_t resume_seq, std::span<const TokenUse> token_uses,
                                  const SessionSave& save) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::transaction(impl_->db, [&]() -> absl::Status {
    if (save.node.empty()) {
      for (const audit::SessionReport& r : sessions) {
        if (absl::Status s = upsert_row(impl_->db, r); !s.ok()) return s;
      }
      if (absl::Status s = impl_->touch_tokens(token_uses); !s.ok()) return s;
      return sql::run(impl_->db, "UPDATE session_index SET resume_seq = ?1 WHERE id = 1",
                      i64(resume_seq));
    }
    // Nodes save one at a time: this row lock (PostgreSQL; SQLite has one writer anyway) keeps
    // two nodes from each starting a session for the first pieces of the same one.
    if (absl::Status s =
            sql::run(impl_->db, "UPDATE session_index SET resume_seq = resume_seq WHERE id = 1");
        !s.ok()) {
      return s;
    }
    for (const audit::SessionReport& r : sessions) {
      if (absl::Status s = save_piece(impl_->db, r, save.node, save.join_gap_ns); !s.ok()) return s;
    }
    if (absl::Status s = impl_->touch_tokens(token_uses); !s.ok()) return s;
    return sql::run(impl_->db,
                    "INSERT INTO session_cursors (node, resume_seq) VALUES (?1, ?2) ON CONFLICT "
                    "(node) DO UPDATE SET resume_seq = excluded.resume_seq",
                    save.node, i64(resume_seq));
  });
}

uint64_t Store::session_resume_seq(std::string_view node) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // A node without a cursor of its own takes over the single cursor of a store one node used
  // before sessions were saved per node; a node joining a cluster starts at its log's beginning.
  auto own = sql::load_rows<int64_t>(
      impl_->db, "SELECT resume_seq FROM session_cursors WHERE node = ?1",
      [](const sql::Stmt& st) { return st.integer(0); }, node);
  if (own.ok() && !own->empty()) return own->front() > 0 ? static_cast<uint64_t>(own->front()) : 1;
  auto cursors = impl_->db.query_int("SELECT COUNT(*) FROM session_cursors");
  if (!node.empty() && (!cursors.ok() || *cursors > 0)) return 1;
  auto v = impl_->db.query_int("SELECT resume_seq FROM session_index WHERE id = 1");
  return v.ok() && *v > 0 ? static_cast<uint64_t>(*v) : 1;
}

std::vector<audit::SessionReport> Store::list_sessions(const audit::SessionQuery& q) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Every filter is bound (a disabled one matches everything), so one statement serves all. The
  // order is audit::SessionPosition's: newest start first, then id, both descending.
  auto rows = sql::load_rows<audit::SessionReport>(
      impl_->db,
      policy::cat(
          "SELECT ", kColumns,
          " FROM sessions WHERE (?1 = '' OR \"user\" = ?1) AND (?2 = '' OR record_id = ?2 OR "
          "record_name = ?2) AND last_ns >= ?3 AND started_ns < ?4 AND (?5 = 0 OR started_ns < "
          "?6 OR (started_ns = ?6 AND id < ?7)) ORDER BY started_ns DESC, id DESC LIMIT ?8"),
      [](const sql::Stmt& st) { return read_row(st, false); }, q.user, q.record,
      q.since_unix_ns.value_or(INT64_MIN), q.until_unix_ns.value_or(INT64_MAX), q.after.has_value(),
      q.after ? q.after->started_unix_ns : int64_t{0}, q.after ? q.after->id : std::string(),
      static_cast<int64_t>(q.limit));
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
