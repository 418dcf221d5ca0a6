// Event type names and the AWS CLI command extractor (pure).

#include "pamproxy/audit/event.h"

namespace pamproxy::audit {
namespace {

constexpr std::string_view kTypeNames[kEventTypeCount + 1] = {
    "",
    "tunnel.opened",
    "tunnel.closed",
    "request.denied",
    "request.forwarded",
    "admin.change",
    "settings.change",
    "config.reload",
    "audit.recovery",
    "audit.retention",
    "audit.checkpoint",
    "request.completed",
    "notification",
};

}  // namespace

std::string_view event_type_name(EventType type) {
  auto i = static_cast<size_t>(type);
  return i <= static_cast<size_t>(kEventTypeCount) ? kTypeNames[i] : std::string_view();
}

bool parse_event_type(std::string_view name, EventType* out) {
  for (int i = 1; i <= kEventTypeCount; ++i) {
    if (kTypeNames[i] == name) {
      *out = static_cast<EventType>(i);
      return true;
    }
  }
  return false;
}

std::string_view cli_command_of(std::string_view user_agent) {
  // The AWS CLI (v1 and v2) appends "command/<service>.<operation>" as a space-separated token,
  // e.g. "aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12 prompt/off
  // command/s3.cp". Only a whole token counts, so "xcommand/..." is not a match.
  constexpr std::string_view kPrefix = "command/";
  size_t pos = 0;
  while (pos < user_agent.size()) {
    size_t end = user_agent.find(' ', pos);
    if (end == std::string_view::npos) end = user_agent.size();
    std::string_view token = user_agent.substr(pos, end - pos);
    if (token.size() > kPrefix.size() && token.substr(0, kPrefix.size()) == kPrefix) {
      std::string_view command = token.substr(kPrefix.size());
      // Service and operation names are [a-z0-9.-_]; anything else means it is not the CLI's.
      bool plain = true;
      for (char c : command) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok) {
          plain = false;
          break;
        }
      }
      if (plain) return command;
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace pamproxy::audit
