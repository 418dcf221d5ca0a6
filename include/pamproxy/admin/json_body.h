#pragma once
// Reading JSON request bodies of the admin API strictly: the body must be one object of bounded
// size and depth; each field is read with its type and bounds; a field the handler did not ask
// for is an error (a typo like "expiry_at" must not be silently ignored). The first problem is
// reported with the field's path ("windows[1].start") and a message for a 400 response.
//
//   auto body = JsonBody::parse(text, limits);
//   if (!body.ok()) return bad_request(body.error());
//   auto name = body->string("name", kRequired, 1, 200);
//   auto cidrs = body->string_list("allowed_networks", kOptional, 0, 64, 64);
//   if (!body->finish()) return bad_request(body->error());
//
// Parsed with simdjson (DOM); never throws. Values returned are copies owned by the caller.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pamproxy::admin {

struct JsonError {
  std::string field;    // path of the offending field; empty for the body as a whole
  std::string message;  // "expected a string", "unknown field", ...
  std::string to_string() const;
};

inline constexpr bool kRequired = true;
inline constexpr bool kOptional = false;

class JsonBody {
 public:
  struct Limits {
    size_t body_bytes_max = 1 << 20;
    size_t depth_max = 16;
  };

  // Parses `text`; on failure returns nullptr and fills `error`.
  static std::unique_ptr<JsonBody> parse(std::string_view text, const Limits& limits,
                                         JsonError* error);
  ~JsonBody();
  JsonBody(const JsonBody&) = delete;
  JsonBody& operator=(const JsonBody&) = delete;

  // Each accessor marks the field as known. A missing optional field yields nullopt; a missing
  // required field, a wrong type or a value out of bounds records an error (the first one wins)
  // and yields nullopt.
  std::optional<std::string> string(std::string_view name, bool required, size_t min_len,
                                    size_t max_len);
  std::optional<int64_t> integer(std::string_view name, bool required, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view name, bool required);
  std::optional<std::vector<std::string>> string_list(std::string_view name, bool required,
                                                      size_t max_items, size_t max_len);
  // An array of objects, each read with a nested JsonBody (whose errors carry "name[i]." paths).
  std::optional<std::vector<std::unique_ptr<JsonBody>>> object_list(std::string_view name,
                                                                    bool required,
                                                                    size_t max_items);
  // A nested object, read with a nested JsonBody (whose errors carry "name." paths).
  std::unique_ptr<JsonBody> object(std::string_view name, bool required);
  bool has(std::string_view name) const;

  // Checks every object of the body read so far (this one and the nested ones handed out, which
  // may already be destroyed) for unknown and duplicate fields. Returns false when any error was
  // recorded; error() says which. Errors are shared: the first one anywhere wins.
  bool finish();
  bool ok() const;
  const JsonError& error() const;

 private:
  struct Impl;
  JsonBody(std::shared_ptr<Impl> impl, size_t node);
  void fail(std::string_view name, std::string message);
  const std::string& path() const;

  std::shared_ptr<Impl> impl_;
  size_t node_;  // index of this object in impl_'s node table
};

}  // namespace pamproxy::admin
