// RFC 5424 messages with RFC 5425 octet-counting framing (see syslog_frame.h).

#include "pamproxy/audit/syslog_frame.h"

#include <charconv>

#include "pamproxy/audit/line.h"

namespace pamproxy::audit {
namespace {

// facility 13 (log audit) * 8 + severity 6 (informational), then VERSION 1
constexpr std::string_view kPriVersion = "<110>1 ";
constexpr std::string_view kNilFields = " - - - ";  // PROCID, MSGID, STRUCTURED-DATA

bool printable_ascii(char c) {
  return c >= 33 && c <= 126;
}

}  // namespace

std::string check_syslog_app_name(std::string_view app_name) {
  if (app_name.empty()) return "must not be empty";
  if (app_name.size() > kSyslogAppNameBytesMax) {
    return "longer than " + std::to_string(kSyslogAppNameBytesMax) + " characters";
  }
  for (char c : app_name) {
    if (!printable_ascii(c)) return "only printable ASCII without spaces is allowed";
  }
  if (app_name == "-") return "\"-\" means no name in syslog";
  return {};
}

std::string syslog_hostname(std::string_view node) {
  if (node.empty()) return "-";
  std::string out(node.substr(0, kSyslogHostnameBytesMax));
  for (char& c : out) {
    if (!printable_ascii(c)) c = '_';
  }
  return out;
}

void append_syslog_frame(std::string& out, const SyslogHeader& header, int64_t now_unix_ns,
                         std::string_view line) {
  char time[32];
  const size_t time_len = format_event_time(now_unix_ns, time);
  const size_t msg_bytes = kPriVersion.size() + time_len + 1 + header.hostname.size() + 1 +
                           header.app_name.size() + kNilFields.size() + line.size();
  char len[24];
  auto [end, ec] = std::to_chars(len, len + sizeof len, msg_bytes);
  (void)ec;  // 24 characters always hold a size_t
  out.append(len, end);
  out.push_back(' ');
  out.append(kPriVersion);
  out.append(time, time_len);
  out.push_back(' ');
  out.append(header.hostname);
  out.push_back(' ');
  out.append(header.app_name);
  out.append(kNilFields);
  out.append(line);
}

}  // namespace pamproxy::audit
