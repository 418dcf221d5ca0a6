#pragma once
// The audit shipper's wire format: one RFC 5424 syslog message per audit line, framed for TLS
// transport by octet counting (RFC 5425, "LEN SP SYSLOG-MSG"):
//
//   187 <110>1 2026-12-07T11:26:14.123456Z pam-1 pamproxy - - - {"seq":42,"prev":...}
//   LEN PRI    TIMESTAMP                   HOST  APP-NAME ^ ^ ^ MSG: the audit line, unchanged
//                                                  PROCID, MSGID, STRUCTURED-DATA: "-"
//
// PRI 110 is facility 13 ("log audit") and severity 6 ("informational"); VERSION is 1. The MSG
// is the audit line's bytes exactly, so the collector's copy verifies like the local log
// (`pamctl audit verify --from-syslog`). A line never holds a newline (JSON escapes it), so a
// collector that writes one message per line keeps lines apart.
//
// Pure: the caller gives the time.

#include <cstdint>
#include <string>
#include <string_view>

namespace pamproxy::audit {

// RFC 5424 caps HOSTNAME at 255 and APP-NAME at 48 printable US-ASCII characters, no spaces.
inline constexpr size_t kSyslogHostnameBytesMax = 255;
inline constexpr size_t kSyslogAppNameBytesMax = 48;

// "" when `app_name` is a valid APP-NAME, else why not.
std::string check_syslog_app_name(std::string_view app_name);

// The HOSTNAME for a node name: characters outside printable US-ASCII (and spaces) become '_',
// cut at 255; "-" for an empty name. `pamctl audit verify --node` matches this form.
std::string syslog_hostname(std::string_view node);

struct SyslogHeader {
  std::string_view hostname;  // already in syslog_hostname() form
  std::string_view app_name;  // already checked
};

// Appends "LEN SP <110>1 TIME HOST APP - - - LINE" to `out`. `line` has no newline.
void append_syslog_frame(std::string& out, const SyslogHeader& header, int64_t now_unix_ns,
                         std::string_view line);

}  // namespace pamproxy::audit
