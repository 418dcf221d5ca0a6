#pragma once
// Offline verification of an audit log: the hash chain across files, sequence numbers, the
// checkpoint signatures, and the rules that make removals visible. Finds the FIRST problem and
// names its file, line and why. Used by `pamctl audit verify` and by the writer's recovery.
//
// What each kind of tampering looks like to the verifier:
//   a line edited          the next line's "prev" no longer matches (or, for the line right
//                          before a checkpoint, the checkpoint's signature covers its hash)
//   a line removed         a sequence number jumps and "prev" does not match
//   lines reordered/duped  a sequence number goes back or repeats
//   a torn/truncated file  a last line without its newline, or a closed file that does not end
//                          with its sealing checkpoint
//   a file missing         the sequence jumps at the start of the next file
//   files removed at start the first line is not the genesis line and no audit.retention event
//                          accounts for the lines before it
//   a forged checkpoint    its signature does not verify with the appliance's public key
//
// ChainVerifier is pure (fed bytes); verify_directory() reads the files.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/audit/line_parser.h"
#include "pamproxy/audit/signing_key.h"

namespace pamproxy::audit {

struct Problem {
  std::string file;
  uint64_t line = 0;  // 1-based within the file; 0 = the file or the log as a whole
  std::string reason;
  std::string to_string() const;  // "FILE:LINE: reason"
};

struct VerifySummary {
  uint64_t files = 0;
  uint64_t lines = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string last_hash;
  uint64_t checkpoints = 0;
  uint64_t last_checkpoint_seq = 0;
  std::string last_checkpoint_time;
  uint64_t unsealed_lines = 0;  // lines after the last checkpoint (not yet signed)
};

class ChainVerifier {
 public:
  // `key` null: signatures are not checked (only chain and structure).
  explicit ChainVerifier(const PublicKey* key) : key_(key) {}

  // Feed files in log order, each as begin_file, add_line..., end_file. Every call returns false
  // once a problem is found (and then does nothing more).
  bool begin_file(std::string_view name);
  // Instead of files: one stream of lines from a collector's copy (no file names to check, no
  // file ends to be sealed). Feed it with add_line_at, then end_file(true) and finish.
  bool begin_stream(std::string_view name);
  // add_line for a stream: `line_no` is where the line is in the collector's file.
  bool add_line_at(std::string_view line, uint64_t line_no);
  // `line` without its newline; `complete` false for trailing bytes that have no newline.
  bool add_line(std::string_view line, bool complete);
  bool end_file(bool is_last);
  bool finish();

  const std::optional<Problem>& problem() const { return problem_; }
  const VerifySummary& summary() const { return summary_; }
  const std::string& last_line_hash() const { return last_hash_; }

 private:
  bool fail(uint64_t line, std::string reason);
  bool check_checkpoint(const ParsedLine& p);

  const PublicKey* key_;
  LineParser parser_;
  ParsedLine parsed_;
  std::optional<Problem> problem_;
  VerifySummary summary_;
  std::string file_;
  uint64_t file_first_seq_ = 0;  // from the name
  bool stream_ = false;
  uint64_t file_lines_ = 0;
  bool last_was_checkpoint_ = false;
  bool any_line_ = false;
  uint64_t last_seq_ = 0;
  std::string last_hash_;
  std::string last_file_;  // where the previous line was: a broken link names that line
  uint64_t last_line_no_ = 0;
  // When the log does not start at the genesis line: the first line's seq and prev, and the
  // retention events seen (throughSeq, lastHash) that may account for it.
  uint64_t start_seq_ = 0;
  std::string start_prev_;
  std::string start_file_;
  std::vector<std::pair<uint64_t, std::string>> retained_;
};

struct VerifyOptions {
  const PublicKey* key = nullptr;  // required by pamctl; null only for structure-only checks
  bool require_sealed = false;     // lines after the last checkpoint are a problem
  // verify_directory() stops once this time has passed (checked after each read of at most
  // 1 MiB); none = no bound. A stopped run names no problem: `stopped` says the summary covers
  // only the lines verified so far.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct VerifyResult {
  std::optional<Problem> problem;  // empty = valid (as far as it got when `stopped`)
  VerifySummary summary;
  bool stopped = false;  // VerifyOptions::deadline passed before the end of the log
};

// Verifies every audit file of `dir` in order. A directory that cannot be read, or that holds no
// audit file, is a problem too.
VerifyResult verify_directory(const std::string& dir, const VerifyOptions& options);

// What a collector's file held besides the node's chain.
struct CollectedSummary {
  uint64_t duplicates = 0;   // exact repeats of a line already seen (a resend), skipped
  uint64_t other_lines = 0;  // other nodes, other programs, or not syslog lines, skipped
};

// Verifies the lines one node shipped to a syslog collector (verify_collected.cc): every line of
// `path` whose HOSTNAME is `hostname` and APP-NAME `app_name` (syslog_collected.h) must carry an
// audit line, and those lines, in file order, must form the chain exactly as the local log does.
// A line repeated byte for byte within kCollectedRepeatWindow lines of the newest one is a
// resend and is skipped; any other repeat or reordering is a problem. Problems name the line of
// `path`.
inline constexpr uint64_t kCollectedRepeatWindow = 1 << 17;
VerifyResult verify_collected(const std::string& path, std::string_view hostname,
                              std::string_view app_name, const VerifyOptions& options,
                              CollectedSummary* collected);

}  // namespace pamproxy::audit
