// Fuzz target: admin API request bodies. Whatever arrives, reading it the way a handler does must
// end in either a complete set of fields or one error naming a field, never a crash; and the
// error path must always point into the body's structure.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/admin/json_body.h"
#include "pamproxy/base/json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::admin;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  JsonError err;
  auto body = JsonBody::parse(text, {.body_bytes_max = 1 << 16, .depth_max = 8}, &err);
  if (body == nullptr) {
    if (err.message.empty()) std::abort();
    return 0;
  }
  auto name = body->string("name", kRequired, 1, 200);
  body->integer("expires_in_s", kOptional, 1, 1 << 30);
  body->boolean("admin", kOptional);
  body->string_list("allowed_networks", kOptional, 64, 64);
  if (auto windows = body->object_list("windows", kOptional, 32)) {
    for (auto& w : *windows) {
      w->string("days", kRequired, 1, 64);
      w->string("start", kRequired, 5, 5);
      w->string("end", kRequired, 5, 5);
    }
  }
  bool ok = body->finish();
  if (ok != body->ok()) std::abort();
  if (ok && !name) std::abort();  // a required field cannot be missing from a valid body
  if (!ok && body->error().message.empty()) std::abort();
  // Echoing a field back must always produce valid JSON text (escaping never fails).
  pamproxy::JsonWriter w;
  w.begin_object().key("name").value(name.value_or("")).end_object();
  if (w.str().front() != '{' || w.str().back() != '}') std::abort();
  return 0;
}
