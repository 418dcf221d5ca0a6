#pragma once
// Structured logging: one line per event, `key=value` pairs (or one JSON object) on stderr, which
// journald collects. Lines are built in a fixed stack buffer and written with a single write(2),
// so logging never allocates and lines from different threads never interleave.
//
//   log::info("config.reloaded").kv("file", path).kv("changed_keys", 3);
//   -> ts=2026-11-23T21:30:00.123Z level=info event=config.reloaded file=/etc/p.toml changed_keys=3
//
// Never log a secret: AWS keys, token secrets, signatures and Authorization headers stay out.

#include <cstdint>
#include <optional>
#include <string_view>

namespace pamproxy::log {

enum class Level : int { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format : int { kv = 0, json = 1 };

void set_level(Level level);
void set_format(Format format);
// Where lines go (default 2, stderr). Tests point it at a pipe or a file.
void set_fd(int fd);
bool enabled(Level level);

std::optional<Level> parse_level(std::string_view name);
std::optional<Format> parse_format(std::string_view name);
std::string_view level_name(Level level);

// A line under construction; written when it goes out of scope. Keys are plain identifiers;
// values are quoted and escaped as needed. A line longer than its buffer is cut and marked.
class Line {
 public:
  Line(Level level, std::string_view event);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, int64_t value);
  Line& kv(std::string_view key, uint64_t value);
  Line& kv(std::string_view key, int value) { return kv(key, static_cast<int64_t>(value)); }
  Line& kv(std::string_view key, unsigned value) { return kv(key, static_cast<uint64_t>(value)); }
  Line& kv(std::string_view key, long long value) { return kv(key, static_cast<int64_t>(value)); }
  Line& kv(std::string_view key, unsigned long long value) {
    return kv(key, static_cast<uint64_t>(value));
  }
  Line& kv(std::string_view key, double value);
  Line& kv(std::string_view key, bool value);

 private:
  void raw(std::string_view bytes);
  void key(std::string_view key);
  void value_string(std::string_view value);

  static constexpr size_t kBufferBytes = 2048;
  bool on_;
  bool truncated_ = false;
  Format format_;
  size_t len_ = 0;
  char buf_[kBufferBytes];
};

inline Line debug(std::string_view event) { return Line(Level::debug, event); }
inline Line info(std::string_view event) { return Line(Level::info, event); }
inline Line warn(std::string_view event) { return Line(Level::warn, event); }
inline Line error(std::string_view event) { return Line(Level::error, event); }

}  // namespace pamproxy::log
