// Fuzz target: the aws module's readers of hostile input, host names (from CONNECT and Host) and
// request facts (paths, queries, X-Amz-Target, form bodies). Whatever arrives: no crash, a name
// that is never empty and never longer than its bound, and error bodies that stay well formed.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/aws/endpoint.h"
#include "pamproxy/aws/error_response.h"
#include "pamproxy/aws/operation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::aws;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Fields separated by '\n': host, service, method, path, query, target, content type, body.
  std::string_view f[8];
  for (auto& field : f) {
    size_t nl = in.find('\n');
    field = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  if (auto e = parse_endpoint(f[0])) {
    if (e->service.empty() || e->region.empty()) std::abort();
    check_scope(*e, f[1], f[4].substr(0, 20));
  }
  RequestFacts r;
  r.service = f[1];
  r.method = f[2];
  r.path = f[3];
  r.query = f[4];
  r.amz_target = f[5];
  r.content_type = f[6];
  r.form_body = f[7];
  r.smithy_protocol = size % 7 == 0 ? "rpc-v2-cbor" : "";
  r.host_bucket = size % 3 == 0 ? "bucket" : "";
  Operation op = classify(r);
  if (op.name().empty() || op.name().size() > Operation::kNameBytesMax) std::abort();
  ErrorReply reply = render_error(op.protocol(), 403, "AccessDenied", f[7], "RID");
  if (reply.body.empty()) std::abort();
  return 0;
}
