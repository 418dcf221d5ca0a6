#pragma once
// What every outbound transfer shares (https_request.cc, smtp_send.cc): libcurl's handles, the
// transport rules set in one place, and a libcurl error read as a Failure.

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/outbound/https_request.h"

namespace pamproxy::outbound::internal {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

// Appends each line to a list libcurl owns a copy of; false when out of memory.
bool append_all(const std::vector<std::string>& lines, List* list);

// The rules of https_request.h that do not depend on the protocol: certificate and name checks
// against `ca_file` (a C string that outlives the transfer; "" = the system store), TLS 1.2 or
// later, no proxy from the environment, the two timeouts, no signals, libcurl's error text in
// `error` (CURL_ERROR_SIZE bytes, outliving the transfer).
void set_transport_rules(CURL* c, const std::string& ca_file, int64_t connect_timeout_ms,
                         int64_t timeout_ms, char* error);

Failure classify(CURLcode code);

// A failed answer of either kind (HttpsAnswer, SmtpAnswer): `reason` is libcurl's name for the
// error or our own, `detail` libcurl's more specific text ("" when it gave none).
template <typename Answer>
Answer failed(Failure failure, std::string_view reason, std::string_view detail = {}) {
  return Answer{.failure = failure, .reason = std::string(reason), .detail = std::string(detail)};
}

}  // namespace pamproxy::outbound::internal
