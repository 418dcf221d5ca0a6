#pragma once
// Helpers shared by the audit unit tests: temporary directories, sample events, file access.

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pamproxy/audit/event.h"
#include "pamproxy/audit/log_files.h"

namespace pamproxy::audit::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/audit-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Event sample_event(uint64_t i) {
  Event e;
  e.type = EventType::kRequestForwarded;
  e.time_unix_ns = 1795000000000000000ll + static_cast<int64_t>(i) * 1000;
  e.status = 200;
  e.bytes_in = i;
  e.bytes_out = 2 * i;
  e.duration_us = 1500;
  e.read_only = ReadOnly::kTrue;
  e.source_ip.assign("192.0.2.10");
  e.source_port = 40000;
  e.event_source.assign("s3.amazonaws.com");
  e.event_name.assign("GetObject");
  e.aws_region.assign("us-east-1");
  e.user_agent.assign("aws-cli/2.9.19 Python/3.11.2 Linux/6.1 command/s3.cp");
  e.cli_command.assign("s3.cp");
  e.aws_request_id.assign("AWSREQ" + std::to_string(i));
  e.request_id.assign("req-" + std::to_string(i));
  e.user.assign("alice");
  e.token_id.assign("tok1");
  e.record_id.assign("rec-1");
  e.record_name.assign("prod keys");
  e.target_host.assign("s3.us-east-1.amazonaws.com:443");
  return e;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(pos));
      break;
    }
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

inline std::vector<std::string> log_files(const std::string& dir) {
  auto r = list_log_files(dir);
  return r.ok() ? *r : std::vector<std::string>{};
}

}  // namespace pamproxy::audit::testing
