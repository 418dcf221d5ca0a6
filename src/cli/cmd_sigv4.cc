// pamctl sigv4: offline SigV4 tools for people fighting SignatureDoesNotMatch.
//   pamctl sigv4 sign   --request FILE|- --access-key AK --secret-key SK --region R --service S
//                       --time YYYY-MM-DDTHH:MM:SSZ [--session-token T] [--no-normalize-path]
//                       [--presign SECONDS] [--signed-headers a;b;c] [--json]
//   pamctl sigv4 verify --request FILE|- --secret-key SK [--time NOW] [--canonical-request FILE]
//                       [--no-normalize-path] [--json]
// Both use the same sigv4 module the proxy uses. They print signatures because the user supplied
// the secret; they never read keys from the environment.

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "commands.h"
#include "pamproxy/sigv4/auth.h"
#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/encoding.h"
#include "pamproxy/sigv4/signer.h"
#include "sigv4_request_file.h"

namespace pamproxy::cli {
namespace {

using namespace pamproxy::sigv4;

constexpr char kUsage[] =
    "usage: pamctl sigv4 sign --request FILE|- --access-key AK --secret-key SK --region REGION\n"
    "                         --service SERVICE --time YYYY-MM-DDTHH:MM:SSZ [options]\n"
    "       pamctl sigv4 verify --request FILE|- --secret-key SK [options]\n"
    "\n"
    "sign: sign a raw HTTP/1.1 request (as pasted from a log or a document) with SigV4 and print\n"
    "the canonical request, the string to sign, the signature and the signed request.\n"
    "  --request FILE|-        the request: request line, headers, empty line, body. Bare LF or\n"
    "                          CRLF, folded header lines, raw spaces or UTF-8 in the path are "
    "fine\n"
    "                          (see the path rule below)\n"
    "  --access-key AK         access key id (for the proxy: TOKENID#RECORD)\n"
    "  --secret-key SK         secret access key (for the proxy: the REST API token)\n"
    "  --region REGION         e.g. us-east-1\n"
    "  --service SERVICE       e.g. s3, sts, ec2 (s3, s3-outposts, s3express sign the path as\n"
    "                          sent; every other service normalizes it and encodes it again)\n"
    "  --time T                signing time, YYYY-MM-DDTHH:MM:SSZ (UTC) or YYYYMMDDTHHMMSSZ\n"
    "  --session-token T       add and sign X-Amz-Security-Token (header, or query if presigned)\n"
    "  --no-normalize-path     sign the path as sent (S3 style) whatever the service\n"
    "  --presign SECONDS       presigned URL (query form, X-Amz-Expires=SECONDS) instead of the\n"
    "                          Authorization header\n"
    "  --signed-headers a;b;c  sign exactly these headers (default: every header in the file but\n"
    "                          User-Agent, Expect, X-Amzn-Trace-Id and hop-by-hop headers, plus\n"
    "                          x-amz-date and x-amz-security-token)\n"
    "  --json                  one JSON object with canonical_request, string_to_sign, signature,\n"
    "                          signed_request\n"
    "  The payload hash is the request's x-amz-content-sha256 header when present, else\n"
    "  UNSIGNED-PAYLOAD for a presigned S3 URL, else the SHA-256 of the body.\n"
    "  The path rule:\n"
    "  - other than S3, as botocore's SigV4Auth: the path exactly as given, dot and empty\n"
    "    segments removed, each byte but letters, digits, -._~ and / encoded once more:\n"
    "    /my bucket/caf\u00e9 signs as /my%20bucket/caf%C3%A9, /my%20bucket as /my%2520bucket.\n"
    "    AWS and the proxy receive the path encoded and encode it once more, so a path with raw\n"
    "    spaces or UTF-8 gets a signature they accept only when the file holds it encoded (a\n"
    "    note on stderr shows that form). The signed request prints the path as given.\n"
    "  - S3 (and --no-normalize-path): the path as it goes on the wire, which is what S3\n"
    "    checks: each byte but letters, digits, -._~ and / encoded once, an %XX already there\n"
    "    kept, so /my bucket and /my%20bucket both sign as /my%20bucket, and the signed\n"
    "    request carries that form. (botocore's S3SigV4Auth, given raw bytes, signs them raw;\n"
    "    S3 never receives them so, and botocore's S3 client encodes keys before signing.)\n"
    "\n"
    "verify: check the signature of a signed request (Authorization header or presigned URL) with\n"
    "the secret; say valid, or which part differs, printing both canonical requests.\n"
    "  --request FILE|-        the signed request\n"
    "  --secret-key SK         the secret the client signed with\n"
    "  --time NOW              also check the clock skew (900 s) or presigned expiry against NOW\n"
    "  --canonical-request F   the canonical request the client or AWS printed (from `aws "
    "--debug`\n"
    "                          or a SignatureDoesNotMatch error), to compare part by part\n"
    "  --no-normalize-path     the path was signed as sent (S3 style) whatever the service\n"
    "  --json                  one JSON object: valid, error, differs, canonical_request,\n"
    "                          string_to_sign, expected_signature, provided_signature,\n"
    "                          client_canonical_request\n"
    "  verify reads the path as the proxy does, off the wire: raw spaces or UTF-8 in it count\n"
    "  as encoded once.\n"
    "\n"
    "exit status: 0 signed / valid, 1 invalid or failed, 2 usage error\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Flags {
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
};

Flags parse_flags(const std::vector<std::string>& args, const std::set<std::string>& with_value,
                  const std::set<std::string>& bare) {
  Flags f;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (const size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    if (with_value.count(a)) {
      if (inline_value) {
        f.values[a] = *inline_value;
      } else if (i + 1 < args.size()) {
        f.values[a] = args[++i];
      } else {
        throw UsageError(a + " needs a value");
      }
    } else if (bare.count(a) && !inline_value) {
      f.switches.insert(a);
    } else if (a == "--help" || a == "-h") {
      f.switches.insert("--help");
    } else {
      throw UsageError("unknown option '" + args[i] + "'");
    }
  }
  return f;
}

const std::string& required(const Flags& f, const std::string& name) {
  auto it = f.values.find(name);
  if (it == f.values.end()) throw UsageError("missing " + name);
  return it->second;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return o;
}

// JSON string with invalid UTF-8 bytes shown as \u00XX so the output always parses.
std::string json_string(std::string_view s) {
  std::string o = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\r') {
      o += "\\r";
    } else if (c == '\t') {
      o += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else if (c < 0x80) {
      o.push_back(static_cast<char>(c));
    } else {
      size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      bool ok = n > 0 && i + n <= s.size();
      for (size_t k = 1; ok && k < n; ++k) {
        ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      }
      if (ok) {
        o.append(s.substr(i, n));
        i += n - 1;
      } else {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", c);
        o += b;
      }
    }
  }
  o.push_back('"');
  return o;
}

bool sdk_leaves_unsigned(const std::string& lname) {
  return lname == "user-agent" || lname == "expect" || lname == "x-amzn-trace-id" ||
         lname == "authorization" || is_hop_by_hop(lname);
}

std::string body_sha256_hex(const std::string& body) {
  char hex[64];
  hex_encode(sha256(body), hex);
  return std::string(hex, 64);
}

// The request the signature is for. An S3-style path goes out in the form it was signed in
// (encoded once, as it travels on the wire); any other path goes out exactly as given, since
// that is what was signed (see canonical_uri_as_given).
std::string render_request(const RequestFile& r, std::string_view query, bool s3_path) {
  std::string out = r.method + " ";
  const std::string path = r.path.empty() ? std::string("/") : r.path;
  if (s3_path) {
    s3_path_append(out, path);
  } else {
    out += path;
  }
  if (!query.empty()) out.append("?").append(query);
  out += " HTTP/1.1\r\n";
  for (const auto& [n, v] : r.headers) out += n + ": " + v + "\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

// Removes SigV4 parameters from a raw query (a presigned request being signed again).
std::string strip_presign_params(std::string_view query, bool also_token) {
  std::string out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::string_view key = pair.substr(0, pair.find('='));
    if (key == "X-Amz-Algorithm" || key == "X-Amz-Credential" || key == "X-Amz-Date" ||
        key == "X-Amz-Expires" || key == "X-Amz-SignedHeaders" || key == "X-Amz-Signature" ||
        (also_token && key == "X-Amz-Security-Token")) {
      continue;
    }
    if (!out.empty()) out.push_back('&');
    out.append(pair);
  }
  return out;
}

std::string encoded(std::string_view s) {
  std::string o;
  uri_encode_append(o, s, false);
  return o;
}

// The canonical URI of a non-S3 service for the path exactly as given, as AWS's reference signer
// (botocore's SigV4Auth) makes it: dot and empty segments removed, then every byte but the
// unreserved ones and '/' encoded once more. A raw space becomes %20 and an encoded one (%20)
// becomes %2520. The proxy instead reads a path off the wire, where such bytes always arrive
// encoded, and encodes what it received once more: both give the same canonical URI for any path
// that is valid on the wire. The result is already canonical, so it is signed as it is (the S3
// rule leaves it unchanged).
std::string canonical_uri_as_given(std::string_view path) {
  std::string normalized;
  normalize_path_append(normalized, path.empty() ? std::string_view("/") : path);
  std::string uri;
  uri_encode_append(uri, normalized, /*keep_slash=*/true);
  return uri;
}

int run_sign(const std::vector<std::string>& args) {
  const Flags f = parse_flags(args,
                              {"--request", "--access-key", "--secret-key", "--region", "--service",
                               "--time", "--session-token", "--presign", "--signed-headers"},
                              {"--no-normalize-path", "--json"});
  if (f.switches.count("--help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::string& access_key = required(f, "--access-key");
  const std::string& secret = required(f, "--secret-key");
  const std::string region = required(f, "--region");
  const std::string service = required(f, "--service");
  const std::optional<int64_t> t = parse_iso8601(required(f, "--time"));
  if (!t) throw UsageError("--time must be YYYY-MM-DDTHH:MM:SSZ (UTC)");
  if (secret.size() > kSecretBytesMax) throw UsageError("--secret-key is too long");
  if (access_key.empty() || region.empty() || service.empty()) {
    throw UsageError("--access-key, --region and --service must not be empty");
  }
  const std::string token =
      f.values.count("--session-token") ? f.values.at("--session-token") : std::string();
  const bool presign = f.values.count("--presign") > 0;
  int64_t expires_s = 0;
  if (presign) {
    const std::string& e = f.values.at("--presign");
    if (e.empty() || e.size() > 6 || e.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(e) < 1 || std::stoll(e) > 604800) {
      throw UsageError("--presign takes 1 to 604800 seconds");
    }
    expires_s = std::stoll(e);
  }
  RequestFile req = parse_request_file(read_input(required(f, "--request")));
  if (req.find("host") == nullptr) {
    throw std::runtime_error("the request has no Host header (SigV4 always signs it)");
  }

  char amz_date[kAmzDateLength];
  format_amz_date(*t, amz_date);
  const std::string date(amz_date, kAmzDateLength);
  const Scope scope{std::string_view(date).substr(0, 8), region, service};

  req.remove("authorization");
  std::string query = req.query;
  if (presign) {
    req.remove("x-amz-date");
    query = strip_presign_params(query, true);
  } else {
    req.set("X-Amz-Date", date);
    if (!token.empty()) req.set("X-Amz-Security-Token", token);
  }

  // Signed header list: explicit, or every header but those SDKs leave unsigned.
  std::set<std::string> names;
  if (f.values.count("--signed-headers")) {
    std::string_view list = f.values.at("--signed-headers");
    while (!list.empty()) {
      const size_t semi = list.find(';');
      const std::string n = lower(list.substr(0, semi));
      if (!n.empty()) names.insert(n);
      list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
    }
    if (names.empty()) throw UsageError("--signed-headers is empty");
  } else {
    for (const auto& [n, v] : req.headers) {
      const std::string ln = lower(n);
      if (!sdk_leaves_unsigned(ln)) names.insert(ln);
    }
  }
  std::string signed_headers;
  for (const auto& n : names) signed_headers += (signed_headers.empty() ? "" : ";") + n;
  if (!valid_signed_headers(signed_headers)) {
    throw UsageError("a header name to sign has characters a header name cannot have");
  }

  std::string payload;
  if (const std::string* h = req.find("x-amz-content-sha256")) {
    payload = *h;
  } else if (presign && is_s3_family(service)) {
    payload = "UNSIGNED-PAYLOAD";
  } else {
    payload = body_sha256_hex(req.body);
  }

  if (presign) {
    std::string auth_params = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                              encoded(access_key + "/" + std::string(scope.date) + "/" + region +
                                      "/" + service + "/aws4_request") +
                              "&X-Amz-Date=" + date +
                              "&X-Amz-Expires=" + std::to_string(expires_s) +
                              "&X-Amz-SignedHeaders=" + encoded(signed_headers);
    if (!token.empty()) auth_params += "&X-Amz-Security-Token=" + encoded(token);
    query = query.empty() ? auth_params : query + "&" + auth_params;
  }

  const bool s3_path = is_s3_family(service) || f.switches.count("--no-normalize-path") > 0;
  std::string canonical_uri;
  if (!s3_path) {
    canonical_uri = canonical_uri_as_given(req.path);
    std::string wire;
    wire_path_append(wire, req.path);
    if (wire != req.path) {
      std::fprintf(stderr,
                   "pamctl sigv4 sign: note: the path has bytes a request line cannot carry; it "
                   "is signed as given (each byte encoded once). A server receives it encoded "
                   "and encodes it once more: to sign what it checks, put the path as it goes "
                   "on the wire in the file: %s\n",
                   wire.c_str());
    }
  }
  const std::vector<Header> views = req.header_views();
  CanonicalInput in;
  in.method = req.method;
  in.path = s3_path ? std::string_view(req.path) : std::string_view(canonical_uri);
  in.query = query;
  in.headers = views;
  in.signed_headers = signed_headers;
  in.payload_hash = payload;
  in.normalize_path = false;  // canonical_uri is normalized already; S3 paths never are
  Signer signer(4);
  char sig[kSignatureHexLength];
  const Result r = signer.sign(in, secret, scope, date, sig);
  if (!r.ok()) {
    std::fprintf(stderr, "pamctl sigv4 sign: %s\n", describe(r).c_str());
    return kExitFailed;
  }
  const std::string signature(sig, sizeof sig);
  if (presign) {
    query += "&X-Amz-Signature=" + signature;
  } else {
    std::string authorization;
    format_authorization(authorization, access_key, scope, signed_headers, signature);
    req.headers.emplace_back("Authorization", authorization);
  }
  const std::string signed_request = render_request(req, query, s3_path);
  if (f.switches.count("--json")) {
    std::printf(
        "{\"canonical_request\": %s, \"string_to_sign\": %s, \"signature\": %s, "
        "\"signed_headers\": %s, \"signed_request\": %s}\n",
        json_string(signer.canonical_request()).c_str(),
        json_string(signer.string_to_sign()).c_str(), json_string(signature).c_str(),
        json_string(signed_headers).c_str(), json_string(signed_request).c_str());
  } else {
    std::printf(
        "== canonical request\n%s\n\n== string to sign\n%s\n\n== signature\n%s\n\n"
        "== signed request\n%s\n",
        signer.canonical_request().c_str(), signer.string_to_sign().c_str(), signature.c_str(),
        signed_request.c_str());
  }
  return kExitOk;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> lines;
  while (true) {
    const size_t nl = s.find('\n');
    std::string line(s.substr(0, nl));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return lines;
}

// Names the first part in which two canonical requests differ, or "" when they are equal.
std::string differing_part(const std::string& ours, const std::string& theirs) {
  std::vector<std::string> a = split_lines(ours);
  std::vector<std::string> b = split_lines(theirs);
  while (!b.empty() && b.back().empty() && b.size() > a.size()) b.pop_back();
  if (a == b) return "";
  auto at = [](const std::vector<std::string>& v, size_t i) {
    return i < v.size() ? v[i] : std::string("<missing>");
  };
  if (at(a, 0) != at(b, 0)) return "method";
  if (at(a, 1) != at(b, 1)) return "canonical URI (path)";
  if (at(a, 2) != at(b, 2)) return "canonical query string";
  // Header lines run up to an empty line; the signed header list and payload hash follow.
  size_t i = 3;
  while (i < a.size() && i < b.size() && !a[i].empty() && !b[i].empty()) {
    if (a[i] != b[i]) {
      const std::string name = a[i].substr(0, a[i].find(':'));
      return "canonical headers (header '" + name + "')";
    }
    ++i;
  }
  if (at(a, i) != at(b, i)) return "canonical headers (a header is missing on one side)";
  if (at(a, i + 1) != at(b, i + 1)) return "signed headers";
  if (at(a, i + 2) != at(b, i + 2)) return "payload hash";
  return "canonical request (extra lines)";
}

int run_verify(const std::vector<std::string>& args) {
  const Flags f = parse_flags(args, {"--request", "--secret-key", "--time", "--canonical-request"},
                              {"--no-normalize-path", "--json"});
  if (f.switches.count("--help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::string& secret = required(f, "--secret-key");
  if (secret.size() > kSecretBytesMax) throw UsageError("--secret-key is too long");
  std::optional<int64_t> now;
  if (f.values.count("--time")) {
    now = parse_iso8601(f.values.at("--time"));
    if (!now) throw UsageError("--time must be YYYY-MM-DDTHH:MM:SSZ (UTC)");
  }
  std::optional<std::string> client_cr;
  if (f.values.count("--canonical-request")) {
    client_cr = read_input(f.values.at("--canonical-request"));
  }
  const bool json = f.switches.count("--json") > 0;
  RequestFile req = parse_request_file(read_input(required(f, "--request")));
  const std::vector<Header> views = req.header_views();
  const RequestView view{req.method, req.path, req.query, views};
  ParsedAuth auth;
  Result r = parse_auth(view, auth, /*require_token=*/false);
  auto fail = [&](const Result& res) {
    if (json) {
      std::printf("{\"valid\": false, \"error\": %s, \"message\": %s}\n",
                  json_string(error_name(res.code)).c_str(), json_string(describe(res)).c_str());
    } else {
      std::printf("invalid: %s\n", describe(res).c_str());
    }
    return kExitFailed;
  };
  if (!r.ok()) return fail(r);
  if (now) {
    if (Result tr = Signer::check_time(auth, VerifyOptions{*now, 900, 604800}); !tr.ok()) {
      return fail(tr);
    }
  }
  const std::string body_hash = body_sha256_hex(req.body);
  CanonicalInput in;
  in.method = req.method;
  in.path = req.path;
  in.query = req.query;
  in.headers = views;
  in.signed_headers = auth.signed_headers;
  in.normalize_path = !is_s3_family(auth.scope.service) && !f.switches.count("--no-normalize-path");
  in.skip_signature_param = auth.form == AuthForm::kPresigned;
  if (Result pr = Signer::payload_hash(view, auth, body_hash, in.payload_hash); !pr.ok()) {
    return fail(pr);
  }
  Signer signer(4);
  char sig[kSignatureHexLength];
  if (Result sr = signer.sign(in, secret, auth.scope, auth.amz_date, sig); !sr.ok()) {
    return fail(sr);
  }
  const std::string expected(sig, sizeof sig);
  const std::string ours = signer.canonical_request();
  const std::string sts = signer.string_to_sign();
  const bool valid = constant_time_equal(expected, auth.signature);

  // On a mismatch, find the part: first by re-signing with the usual client-side variations
  // (path rule, payload hash), then by comparing with the canonical request the user supplied.
  std::string differs;
  std::string theirs;
  if (!valid) {
    struct Variant {
      std::string part;
      bool normalize;
      std::string payload;
    };
    std::vector<Variant> variants;
    variants.push_back({in.normalize_path
                            ? "canonical URI (path): the client signed it as sent (S3 style)"
                            : "canonical URI (path): the client normalized and double-encoded it",
                        !in.normalize_path, std::string(in.payload_hash)});
    for (std::string_view p :
         {std::string_view(body_hash), std::string_view("UNSIGNED-PAYLOAD"), kEmptySha256}) {
      if (p != in.payload_hash) {
        variants.push_back({"payload hash: the client signed " + std::string(p), in.normalize_path,
                            std::string(p)});
      }
    }
    for (const Variant& v : variants) {
      CanonicalInput alt = in;
      alt.normalize_path = v.normalize;
      alt.payload_hash = v.payload;
      char alt_sig[kSignatureHexLength];
      if (!signer.sign(alt, secret, auth.scope, auth.amz_date, alt_sig).ok()) continue;
      if (constant_time_equal(std::string_view(alt_sig, sizeof alt_sig), auth.signature)) {
        differs = v.part;
        theirs = signer.canonical_request();
        break;
      }
    }
    if (differs.empty() && client_cr) {
      theirs = *client_cr;
      differs = differing_part(ours, theirs);
      if (differs.empty()) {
        differs =
            "none in the canonical request: the secret key, the date or the credential "
            "scope differs";
      }
    }
    if (differs.empty()) {
      differs =
          "unknown: the secret key, or a part the client canonicalized differently (pass "
          "its canonical request with --canonical-request, e.g. from `aws --debug`)";
    }
  }

  if (json) {
    std::printf(
        "{\"valid\": %s, \"error\": %s, \"differs\": %s, \"canonical_request\": %s, "
        "\"string_to_sign\": %s, \"expected_signature\": %s, \"provided_signature\": %s, "
        "\"client_canonical_request\": %s}\n",
        valid ? "true" : "false", valid ? "null" : "\"signature_mismatch\"",
        valid ? "null" : json_string(differs).c_str(), json_string(ours).c_str(),
        json_string(sts).c_str(), json_string(expected).c_str(),
        json_string(auth.signature).c_str(), theirs.empty() ? "null" : json_string(theirs).c_str());
  } else if (valid) {
    std::printf(
        "valid: signature %s matches\n\n== canonical request\n%s\n\n== string to sign\n"
        "%s\n",
        expected.c_str(), ours.c_str(), sts.c_str());
  } else {
    std::printf(
        "invalid: the signature does not match\ndiffers: %s\n\n"
        "== canonical request (expected with this secret)\n%s\n\n",
        differs.c_str(), ours.c_str());
    if (!theirs.empty()) std::printf("== canonical request (client)\n%s\n\n", theirs.c_str());
    std::printf(
        "== string to sign (expected)\n%s\n\nexpected signature: %s\n"
        "provided signature: %.*s\n",
        sts.c_str(), expected.c_str(), static_cast<int>(auth.signature.size()),
        auth.signature.data());
  }
  return valid ? kExitOk : kExitFailed;
}

}  // namespace

int run_sigv4(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  try {
    if (args[0] == "sign") return run_sign(args);
    if (args[0] == "verify") return run_verify(args);
    throw UsageError("unknown subcommand '" + args[0] + "'");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "pamctl sigv4: %s\n\n%s", e.what(), kUsage);
    return kExitUsage;
  }
}

}  // namespace pamproxy::cli
