#pragma once
// A small JSON writer for API responses and command output: appends to a std::string, escapes
// every string (control characters, quotes, backslashes; invalid UTF-8 bytes become U+FFFD so the
// output is always valid JSON), and tracks commas itself.
//
//   JsonWriter w;
//   w.begin_object().key("id").value("rec-1").key("tags").begin_array().value("prod").end_array()
//    .end_object();
//   w.str() == R"({"id":"rec-1","tags":["prod"]})"
//
// Misuse (a value where a key is due, unbalanced ends) is a programming error: PAMPROXY_CHECK.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pamproxy {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(uint64_t n);
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Inserts already-serialized JSON (trusted, e.g. from another JsonWriter).
  JsonWriter& raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

  // Appends `s` as a JSON string literal (with quotes) to `out`.
  static void append_escaped(std::string& out, std::string_view s);

 private:
  void before_value();

  enum class Frame : uint8_t { kObjectKey, kObjectValue, kArray };
  std::string out_;
  std::vector<Frame> stack_;
  bool need_comma_ = false;
};

}  // namespace pamproxy
