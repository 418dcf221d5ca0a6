// What every outbound transfer shares (see transfer.h).

#include "src/outbound/transfer.h"

namespace pamproxy::outbound::internal {

bool append_all(const std::vector<std::string>& lines, List* list) {
  for (const std::string& line : lines) {
    curl_slist* next = curl_slist_append(list->get(), line.c_str());
    if (next == nullptr) return false;
    (void)list->release();  // `next` is the same list, grown by one
    list->reset(next);
  }
  return true;
}

void set_transport_rules(CURL* c, const std::string& ca_file, int64_t connect_timeout_ms,
                         int64_t timeout_ms, char* error) {
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
}

Failure classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return Failure::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST: return Failure::kResolve;
    case CURLE_COULDNT_CONNECT: return Failure::kRefused;
    case CURLE_PEER_FAILED_VERIFICATION: return Failure::kTlsVerify;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: return Failure::kTls;
    default: return Failure::kOther;
  }
}

}  // namespace pamproxy::outbound::internal
