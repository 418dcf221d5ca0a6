#include "pamproxy/base/log.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace pamproxy::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::kv)};
std::atomic<int> g_fd{2};

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

}  // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }
void set_format(Format format) {
  g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}
void set_fd(int fd) { g_fd.store(fd, std::memory_order_relaxed); }
bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "kv") return Format::kv;
  if (name == "json") return Format::json;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "unknown";
}

Line::Line(Level level, std::string_view event)
    : on_(enabled(level)), format_(static_cast<Format>(g_format.load(std::memory_order_relaxed))) {
  if (!on_) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char stamp[40];
  int n = std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, ts.tv_nsec / 1000000);
  std::string_view stamp_view(stamp, n > 0 ? static_cast<size_t>(n) : 0);
  if (format_ == Format::json) raw("{");
  key("ts");
  value_string(stamp_view);
  kv("level", level_name(level));
  kv("event", event);
}

Line::~Line() {
  if (!on_) return;
  // raw() keeps kReserve bytes free, so the ending always fits. A cut line says so, and in JSON
  // the object is still closed.
  std::string_view ending = format_ == Format::json ? "}\n" : "\n";
  if (truncated_) {
    ending = format_ == Format::json ? ",\"truncated\":true}\n" : " truncated=true\n";
  }
  for (char c : ending) buf_[len_++] = c;
  int fd = g_fd.load(std::memory_order_relaxed);
  const char* p = buf_;
  size_t left = len_;
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w <= 0) break;  // Nowhere to report a failing log sink; never block or throw.
    p += w;
    left -= static_cast<size_t>(w);
  }
}

void Line::raw(std::string_view bytes) {
  // Keep 24 bytes spare for the truncation marker.
  constexpr size_t kReserve = 24;
  if (truncated_) return;
  if (len_ + bytes.size() > kBufferBytes - kReserve) {
    truncated_ = true;
    return;
  }
  for (char c : bytes) buf_[len_++] = c;
}

void Line::key(std::string_view k) {
  if (format_ == Format::json) {
    if (len_ > 1) raw(",");
    raw("\"");
    raw(k);
    raw("\":");
  } else {
    if (len_ > 0) raw(" ");
    raw(k);
    raw("=");
  }
}

void Line::value_string(std::string_view v) {
  const bool quote = format_ == Format::json || needs_quotes(v);
  if (quote) raw("\"");
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', static_cast<char>(c)};
      raw(std::string_view(esc, 2));
    } else if (c < 0x20 || c == 0x7f) {
      char esc[8];
      int n = std::snprintf(esc, sizeof(esc), "\\u%04x", c);
      raw(std::string_view(esc, static_cast<size_t>(n)));
    } else {
      char ch = static_cast<char>(c);
      raw(std::string_view(&ch, 1));
    }
  }
  if (quote) raw("\"");
}

Line& Line::kv(std::string_view k, std::string_view value) {
  if (!on_) return *this;
  key(k);
  value_string(value);
  return *this;
}

Line& Line::kv(std::string_view k, int64_t value) {
  if (!on_) return *this;
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof(num), value);
  key(k);
  raw(std::string_view(num, static_cast<size_t>(end - num)));
  return *this;
}

Line& Line::kv(std::string_view k, uint64_t value) {
  if (!on_) return *this;
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof(num), value);
  key(k);
  raw(std::string_view(num, static_cast<size_t>(end - num)));
  return *this;
}

Line& Line::kv(std::string_view k, double value) {
  if (!on_) return *this;
  char num[32];
  int n = std::snprintf(num, sizeof(num), "%.6g", value);
  key(k);
  raw(std::string_view(num, static_cast<size_t>(n)));
  return *this;
}

Line& Line::kv(std::string_view k, bool value) {
  if (!on_) return *this;
  key(k);
  raw(value ? "true" : "false");
  return *this;
}

}  // namespace pamproxy::log
