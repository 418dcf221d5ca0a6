// Audit file names: formatting, parsing, listing.

#include "pamproxy/audit/log_files.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace pamproxy::audit {
namespace {

constexpr std::string_view kPrefix = "audit-";
constexpr std::string_view kSuffix = ".jsonl";
constexpr size_t kSeqDigits = 20;
constexpr size_t kTimeChars = 16;  // 20261123T213705Z

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string log_file_name(uint64_t first_seq, int64_t opened_unix_s) {
  time_t t = static_cast<time_t>(opened_unix_s);
  struct tm tm;
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  char seq[32];
  std::snprintf(seq, sizeof(seq), "%020llu", static_cast<unsigned long long>(first_seq));
  return std::string(kPrefix) + seq + "-" + stamp + std::string(kSuffix);
}

bool parse_log_file_name(std::string_view name, LogFileName* out) {
  if (name.size() != kPrefix.size() + kSeqDigits + 1 + kTimeChars + kSuffix.size()) return false;
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  if (name.substr(name.size() - kSuffix.size()) != kSuffix) return false;
  std::string_view seq = name.substr(kPrefix.size(), kSeqDigits);
  if (!all_digits(seq) || name[kPrefix.size() + kSeqDigits] != '-') return false;
  std::string_view stamp = name.substr(kPrefix.size() + kSeqDigits + 1, kTimeChars);
  if (!all_digits(stamp.substr(0, 8)) || stamp[8] != 'T' || !all_digits(stamp.substr(9, 6)) ||
      stamp[15] != 'Z') {
    return false;
  }
  uint64_t v = 0;
  for (char c : seq) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  struct tm tm = {};
  std::string s(stamp);
  if (strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return false;
  out->first_seq = v;
  out->opened_unix_s = static_cast<int64_t>(timegm(&tm));
  return true;
}

absl::StatusOr<std::vector<std::string>> list_log_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return absl::Status(
        errno == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kPermissionDenied,
        absl::StrCat("cannot read directory ", dir, ": ", std::strerror(errno)));
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    LogFileName parsed;
    if (parse_log_file_name(e->d_name, &parsed)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace pamproxy::audit
