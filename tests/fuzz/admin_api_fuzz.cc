// Fuzz target: the admin API's handlers behind a real store (a SQLite file in a temporary
// directory). Input: "METHOD\nTARGET\nBODY" sent as the bootstrap admin, so every handler and its
// body reader are reachable. Whatever arrives: an answer with a status and JSON (or the text it
// promises), and never the record's secret or the token's secret in it.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "pamproxy/admin/api.h"
#include "pamproxy/store/store.h"

namespace {

constexpr std::string_view kRecordSecret = "fuzzSECRETfuzzSECRETfuzzSECRETfuzzSECRET";

struct World {
  std::unique_ptr<pamproxy::store::Store> store;
  std::unique_ptr<pamproxy::admin::Api> api;
  std::string bearer;
  std::string token_secret;
};

char dir[] = "/tmp/pamproxy-fuzz-api-XXXXXX";

void remove_dir() {
  for (const char* name : {"/p.db", "/p.db-wal", "/p.db-shm", "/master.key"}) {
    ::unlink((std::string(dir) + name).c_str());
  }
  ::rmdir(dir);
}

World* make_world() {
  using namespace pamproxy;
  if (::mkdtemp(dir) == nullptr) std::abort();
  std::atexit(remove_dir);
  auto store = store::Store::open({.database_file = std::string(dir) + "/p.db",
                                   .master_key_file = std::string(dir) + "/master.key"});
  if (!store.ok()) std::abort();
  auto boot = (*store)->bootstrap("admin");
  if (!boot.ok() || !boot->has_value()) std::abort();
  store::Actor actor{(*boot)->admin.id, "", "fuzz"};
  (*store)->set_record_type_enabled(actor, "aws-access-keys", true).IgnoreError();
  store::RecordSpec rec;
  rec.name = "fuzz-record";
  rec.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  rec.secret_access_key = std::string(kRecordSecret);
  rec.tags = {"fuzz"};
  if (!(*store)->create_record(actor, rec).ok()) std::abort();
  auto* w = new World;
  w->token_secret = (*boot)->token.secret;
  w->bearer = "Bearer " + (*boot)->token.token.id + ":" + w->token_secret;
  w->api = std::make_unique<admin::Api>(admin::ApiOptions{.store = store->get(),
                                                          .ca_pem = "-----BEGIN CERTIFICATE-----\n"});
  w->store = std::move(*store);
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = make_world();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t a = in.find('\n');
  if (a == std::string_view::npos) return 0;
  size_t b = in.find('\n', a + 1);
  if (b == std::string_view::npos) return 0;
  pamproxy::admin::ApiRequest request{
      .method = in.substr(0, a),
      .target = in.substr(a + 1, b - a - 1),
      .authorization = world->bearer,
      .body = in.substr(b + 1),
      .client = *pamproxy::net::IpAddress::parse("127.0.0.1"),
  };
  // The store keeps what earlier inputs wrote, and the fuzzer learns the secrets from the
  // comparisons below: once an input has carried a secret (a user named after it, say), a later
  // answer may rightly show it back. A secret counts as leaked only while no input has sent it.
  static bool record_secret_sent = false;
  static bool token_secret_sent = false;
  record_secret_sent |= in.find(kRecordSecret) != std::string_view::npos;
  token_secret_sent |= in.find(world->token_secret) != std::string_view::npos;
  pamproxy::admin::ApiResponse r = world->api->handle(request);
  if (r.status < 200 || r.status > 599) std::abort();
  if (r.content_type == "application/json" && (r.body.empty() || r.body[0] != '{')) std::abort();
  auto leaked = [&](std::string_view secret, bool sent) {
    return !sent && r.body.find(secret) != std::string::npos;
  };
  if (leaked(kRecordSecret, record_secret_sent)) std::abort();
  // The token's secret may appear only in the answer that creates a new token (not this one).
  if (leaked(world->token_secret, token_secret_sent)) std::abort();
  return 0;
}
