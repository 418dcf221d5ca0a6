// Fuzz target: the audit log verifier and its line parser. The input is one or more files
// separated by a form feed ('\f'); each starts with its file name on the first line. Whatever the
// bytes, the verifier must answer valid or name a problem, never crash or hang; a log it calls
// valid must consist of lines the parser accepts.
//
// The seeds (tests/fuzz/corpus/audit_verify/) are signed with the test key whose public half is
// below (private key bytes 00 01 .. 1f), so the signature path is reached too.

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "pamproxy/audit/line_parser.h"
#include "pamproxy/audit/verifier.h"

namespace {

constexpr char kTestPublicKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::audit;
  static const PublicKey key = PublicKey::from_pem(kTestPublicKey).value();
  std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<std::string_view> files;
  while (true) {
    size_t ff = input.find('\f');
    files.push_back(input.substr(0, ff));
    if (ff == std::string_view::npos) break;
    input.remove_prefix(ff + 1);
  }

  ChainVerifier v(&key);
  std::vector<std::string_view> accepted;
  bool ok = true;
  for (size_t i = 0; i < files.size() && ok; ++i) {
    std::string_view f = files[i];
    size_t nl = f.find('\n');
    std::string_view name = f.substr(0, nl);
    f = nl == std::string_view::npos ? std::string_view() : f.substr(nl + 1);
    ok = v.begin_file(name);
    while (ok && !f.empty()) {
      size_t end = f.find('\n');
      bool complete = end != std::string_view::npos;
      std::string_view line = f.substr(0, complete ? end : f.size());
      ok = v.add_line(line, complete);
      if (ok) accepted.push_back(line);
      f = complete ? f.substr(end + 1) : std::string_view();
    }
    if (ok) ok = v.end_file(i + 1 == files.size());
  }
  if (ok) ok = v.finish();

  if (ok != !v.problem().has_value()) std::abort();
  if (ok) {
    if (v.summary().lines != accepted.size() || accepted.empty()) std::abort();
    LineParser parser;
    ParsedLine parsed;
    std::string why;
    for (std::string_view line : accepted) {
      if (!parser.parse(line, &parsed, &why)) std::abort();
    }
  } else if (v.problem()->reason.empty()) {
    std::abort();
  }
  return 0;
}
