// The audit log verifier: see verifier.h for what each rule catches.

#include "pamproxy/audit/verifier.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_files.h"
#include "src/audit/file_lines.h"

namespace pamproxy::audit {

std::string Problem::to_string() const {
  if (line == 0) return absl::StrCat(file, ": ", reason);
  return absl::StrCat(file, ":", line, ": ", reason);
}

bool ChainVerifier::fail(uint64_t line, std::string reason) {
  if (!problem_) problem_ = Problem{file_, line, std::move(reason)};
  return false;
}

bool ChainVerifier::begin_file(std::string_view name) {
  if (problem_) return false;
  file_ = std::string(name);
  file_lines_ = 0;
  LogFileName parsed;
  if (!parse_log_file_name(name, &parsed)) return fail(0, "not an audit log file name");
  file_first_seq_ = parsed.first_seq;
  ++summary_.files;
  return true;
}

bool ChainVerifier::begin_stream(std::string_view name) {
  if (problem_) return false;
  file_ = std::string(name);
  file_lines_ = 0;
  stream_ = true;
  ++summary_.files;
  return true;
}

bool ChainVerifier::add_line_at(std::string_view line, uint64_t line_no) {
  if (problem_) return false;
  file_lines_ = line_no - 1;
  return add_line(line, true);
}

bool ChainVerifier::check_checkpoint(const ParsedLine& p) {
  if (key_ == nullptr) return true;
  if (p.checkpoint_key != key_->key_id()) {
    return fail(file_lines_,
                absl::StrCat("checkpoint signed by key \"", p.checkpoint_key.substr(0, 32),
                             "\", not by the given public key ", key_->key_id()));
  }
  std::string message = checkpoint_message(p.seq, p.prev, p.event_time, p.node);
  if (!key_->verify_hex(message, p.checkpoint_sig)) {
    return fail(file_lines_, "checkpoint signature does not verify (forged or edited checkpoint)");
  }
  return true;
}

bool ChainVerifier::add_line(std::string_view line, bool complete) {
  if (problem_) return false;
  ++file_lines_;
  if (!complete) {
    return fail(file_lines_, "last line has no newline: the file is truncated or torn");
  }
  std::string why;
  if (!parser_.parse(line, &parsed_, &why)) {
    return fail(file_lines_, "not an audit line: " + why);
  }
  const ParsedLine& p = parsed_;
  if (!stream_ && file_lines_ == 1 && p.seq != file_first_seq_) {
    return fail(file_lines_, absl::StrCat("file name says it starts at seq ", file_first_seq_,
                                          " but its first line is seq ", p.seq));
  }
  if (!any_line_) {
    summary_.first_seq = p.seq;
    if (p.seq == 1) {
      if (p.prev != kGenesisHash) {
        return fail(file_lines_, "first line (seq 1) does not carry the genesis \"prev\"");
      }
    } else {
      start_seq_ = p.seq;
      start_prev_ = p.prev;
      start_file_ = file_;
    }
  } else {
    if (p.seq <= last_seq_) {
      return fail(file_lines_, absl::StrCat("seq ", p.seq, " after seq ", last_seq_,
                                            ": a line is duplicated or out of order"));
    }
    if (p.seq != last_seq_ + 1) {
      return fail(file_lines_,
                  absl::StrCat("seq jumps from ", last_seq_, " to ", p.seq,
                               !stream_ && file_lines_ == 1 ? ": a file before this one is missing"
                                                            : ": lines are missing"));
    }
    if (p.prev != last_hash_) {
      // The likely culprit is the earlier line (its bytes no longer hash to what its successor
      // recorded), so that is the line named.
      std::string next = absl::StrCat(file_, ":", file_lines_);
      file_ = last_file_;
      return fail(last_line_no_, absl::StrCat("the SHA-256 of this line (seq ", last_seq_,
                                              ") does not match the \"prev\" of the next line (",
                                              next, "): this line, or that one, was edited"));
    }
  }
  if (p.type == EventType::kCheckpoint) {
    if (!check_checkpoint(p)) return false;
    ++summary_.checkpoints;
    summary_.last_checkpoint_seq = p.seq;
    summary_.last_checkpoint_time = p.event_time;
  } else if (p.type == EventType::kRetentionDeletion) {
    retained_.emplace_back(p.retention_through_seq, p.retention_last_hash);
  }
  last_was_checkpoint_ = p.type == EventType::kCheckpoint;
  any_line_ = true;
  last_seq_ = p.seq;
  last_file_ = file_;
  last_line_no_ = file_lines_;
  last_hash_.resize(kHashHexBytes);
  sha256_hex(line, last_hash_.data());
  ++summary_.lines;
  summary_.last_seq = p.seq;
  summary_.unsealed_lines = last_was_checkpoint_ ? 0 : summary_.unsealed_lines + 1;
  return true;
}

bool ChainVerifier::end_file(bool is_last) {
  if (problem_) return false;
  if (file_lines_ == 0 && !stream_) return fail(0, "empty audit file");
  if (!is_last && !last_was_checkpoint_) {
    return fail(file_lines_,
                "a closed file must end with its sealing checkpoint: lines were removed from "
                "its end");
  }
  return true;
}

bool ChainVerifier::finish() {
  if (problem_) return false;
  if (!any_line_) {
    file_.clear();
    return fail(0, "no audit lines");
  }
  summary_.last_hash = last_hash_;
  if (start_seq_ > 1) {
    bool accounted = false;
    for (const auto& [through, hash] : retained_) {
      if (through + 1 == start_seq_ && hash == start_prev_) accounted = true;
    }
    if (!accounted) {
      file_ = start_file_;
      return fail(1, absl::StrCat("the log starts at seq ", start_seq_,
                                  " but no audit.retention event accounts for seq 1..",
                                  start_seq_ - 1, ": files were removed"));
    }
  }
  return true;
}

namespace {

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

// Streams one file's lines into the verifier with a bounded buffer. Returns false when a problem
// was found, the file could not be read, or `deadline` passed (then `*stopped` is set).
bool feed_file(ChainVerifier& v, const std::string& path, bool is_last, const Deadline& deadline,
               bool* stopped, std::string* io_error) {
  bool refused = false;
  // A line can never be longer than kLineBytesMax: the verifier is handed its start and says why.
  // Only the live file has zeros after its end (space made ready ahead of the writer); a closed
  // file was cut to its end, so a NUL in it is damage.
  auto feed = [&](std::string_view line, bool complete) {
    if (!v.add_line(line, complete)) {
      refused = true;
      return false;
    }
    if (deadline && std::chrono::steady_clock::now() >= *deadline) {
      *stopped = true;
      return false;
    }
    return true;
  };
  *io_error = read_lines(path, kLineBytesMax, feed, is_last);
  if (!io_error->empty() || refused || *stopped) return false;
  return v.end_file(is_last);
}

}  // namespace

VerifyResult verify_directory(const std::string& dir, const VerifyOptions& options) {
  VerifyResult result;
  auto files = list_log_files(dir);
  if (!files.ok()) {
    result.problem = Problem{dir, 0, std::string(files.status().message())};
    return result;
  }
  if (files->empty()) {
    result.problem = Problem{dir, 0, "no audit log files (audit-*.jsonl) in this directory"};
    return result;
  }
  ChainVerifier v(options.key);
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string& name = (*files)[i];
    if (!v.begin_file(name)) break;
    std::string io_error;
    if (!feed_file(v, dir + "/" + name, i + 1 == files->size(), options.deadline, &result.stopped,
                   &io_error)) {
      if (!io_error.empty() && !v.problem()) result.problem = Problem{name, 0, io_error};
      break;
    }
  }
  if (result.stopped) {
    result.summary = v.summary();
    return result;
  }
  if (!v.problem() && !result.problem) v.finish();
  if (!result.problem) result.problem = v.problem();
  result.summary = v.summary();
  if (!result.problem && options.require_sealed && result.summary.unsealed_lines > 0) {
    result.problem = Problem{files->back(), 0,
                             absl::StrCat(result.summary.unsealed_lines,
                                          " line(s) after the last checkpoint are not sealed")};
  }
  return result;
}

}  // namespace pamproxy::audit
