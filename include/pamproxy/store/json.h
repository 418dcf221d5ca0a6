#pragma once
// JSON views of the model for answers and audit events. Secrets never appear: a record shows
// "secret_access_key_set" and "session_token_set", a token shows no secret at all.

#include <string>

#include "absl/time/time.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/policy/model.h"

namespace pamproxy::store {

// RFC 3339 UTC, seconds ("2026-11-23T21:30:00Z"); "" for InfiniteFuture.
std::string format_time(absl::Time t);

void write_json(JsonWriter& w, const policy::User& u);
void write_json(JsonWriter& w, const policy::Role& r);
void write_json(JsonWriter& w, const policy::RecordType& t);
void write_json(JsonWriter& w, const policy::Record& r);
void write_json(JsonWriter& w, const policy::Token& t);
void write_json(JsonWriter& w, const policy::Grant& g);
void write_json(JsonWriter& w, const policy::AccessPolicy& p);
void write_json(JsonWriter& w, const policy::AccessRequest& r, absl::Time now);
void write_json(JsonWriter& w, const policy::Settings& s);

template <typename T>
std::string to_json(const T& v) {
  JsonWriter w;
  write_json(w, v);
  return w.take();
}

}  // namespace pamproxy::store
