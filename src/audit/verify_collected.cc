// Verifying a collector's copy of one node's audit lines (see verifier.h, verify_collected).

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/syslog_collected.h"
#include "pamproxy/audit/verifier.h"
#include "src/audit/file_lines.h"

namespace pamproxy::audit {
namespace {

// A collector file line: a syslog header and an audit line, so a little longer than either.
constexpr size_t kCollectedLineBytesMax = kLineBytesMax + 1024;

// The seq an audit line starts with ({"seq":N,...}), or 0 when it does not start that way (the
// verifier then says what is wrong with it).
uint64_t leading_seq(std::string_view line) {
  constexpr std::string_view kHead = "{\"seq\":";
  if (!line.starts_with(kHead)) return 0;
  line.remove_prefix(kHead.size());
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), seq);
  return ec == std::errc() && end != line.data() ? seq : 0;
}

// Feeds the node's lines to the verifier, skipping exact resends. The hashes of the newest
// kCollectedRepeatWindow lines are kept to recognise a resend.
class CollectedFeed {
 public:
  CollectedFeed(ChainVerifier& v, std::string_view hostname, std::string_view app_name,
                CollectedSummary* collected)
      : v_(v),
        hostname_(hostname),
        app_name_(app_name),
        collected_(collected),
        hashes_(kCollectedRepeatWindow) {}

  bool line(std::string_view text, uint64_t line_no) {
    CollectedLine c;
    if (text.size() > kCollectedLineBytesMax || !parse_collected_line(text, &c) ||
        c.hostname != hostname_ || c.app_name != app_name_) {
      ++collected_->other_lines;
      return true;
    }
    const uint64_t seq = leading_seq(c.msg);
    const uint64_t last = v_.summary().last_seq;
    if (v_.summary().lines > 0 && seq != 0 && seq <= last && last - seq < kCollectedRepeatWindow) {
      std::array<char, kHashHexBytes> h;
      sha256_hex(c.msg, h.data());
      if (h == hashes_[seq % kCollectedRepeatWindow]) {
        ++collected_->duplicates;
        return true;
      }
    }
    if (!v_.add_line_at(c.msg, line_no)) return false;
    const std::string& hash = v_.last_line_hash();
    std::copy(hash.begin(), hash.end(), hashes_[seq % kCollectedRepeatWindow].begin());
    return true;
  }

 private:
  ChainVerifier& v_;
  std::string_view hostname_;
  std::string_view app_name_;
  CollectedSummary* collected_;
  std::vector<std::array<char, kHashHexBytes>> hashes_;
};

}  // namespace

VerifyResult verify_collected(const std::string& path, std::string_view hostname,
                              std::string_view app_name, const VerifyOptions& options,
                              CollectedSummary* collected) {
  VerifyResult result;
  *collected = {};
  ChainVerifier v(options.key);
  v.begin_stream(path);
  CollectedFeed feed(v, hostname, app_name, collected);
  uint64_t line_no = 0;
  bool ok = true;
  // Bounded: a longer line is not one of ours, whatever follows. A collector writes whole lines;
  // a last one without its newline is still being written, and is read as it stands.
  const std::string error =
      read_lines(path, kCollectedLineBytesMax, [&](std::string_view line, bool) {
        ok = feed.line(line, ++line_no);
        return ok;
      });
  if (!error.empty()) result.problem = Problem{path, 0, error};
  if (!result.problem) {
    if (ok && v.summary().lines == 0) {
      result.problem =
          Problem{path, 0,
                  absl::StrCat("no audit lines from host \"", std::string(hostname), "\" (app \"",
                               std::string(app_name), "\") in this file")};
    } else if (ok && v.end_file(true)) {
      v.finish();
    }
  }
  if (!result.problem) result.problem = v.problem();
  result.summary = v.summary();
  if (!result.problem && options.require_sealed && result.summary.unsealed_lines > 0) {
    result.problem = Problem{path, 0,
                             absl::StrCat(result.summary.unsealed_lines,
                                          " line(s) after the last checkpoint are not sealed")};
  }
  return result;
}

}  // namespace pamproxy::audit
