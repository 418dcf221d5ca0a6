#pragma once
// Reads back one line of a file a syslog collector wrote from what the audit shipper sent, so
// `pamctl audit verify --from-syslog` can check the collector's copy. The input is untrusted
// (anything may be in the file): a line that is not in a known layout is "not ours", never a
// crash.
//
// Layouts read (rsyslog's names for them):
//   RSYSLOG_SyslogProtocol23Format  <110>1 2026-12-07T11:26:14.123456+00:00 pam-1 pamproxy - - -
//   MSG RSYSLOG_FileFormat              2026-12-07T11:26:14.123456+00:00 pam-1 pamproxy: MSG
//   RSYSLOG_TraditionalFileFormat   Dec  7 11:26:14 pam-1 pamproxy: MSG
// In the last two the tag may carry a process id ("pamproxy[12]:"); the single space after the
// tag is the collector's, not part of MSG.

#include <string_view>

namespace pamproxy::audit {

struct CollectedLine {
  std::string_view hostname;
  std::string_view app_name;
  std::string_view msg;  // the audit line, as the shipper sent it
};

// False when `line` (no newline) is in none of the layouts above. The views point into `line`.
bool parse_collected_line(std::string_view line, CollectedLine* out);

}  // namespace pamproxy::audit
