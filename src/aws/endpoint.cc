#include "pamproxy/aws/endpoint.h"

#include <array>
#include <utility>
#include <vector>

namespace pamproxy::aws {
namespace {

constexpr size_t kHostBytesMax = 253;
constexpr size_t kLabelsMax = 32;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

// us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-iso-east-1, us-isob-east-1,
// ap-southeast-3, il-central-1, mx-central-1.
bool is_region(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '-') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() < 3 || parts.size() > 4) return false;
  if (parts[0].size() != 2 || !is_lower(parts[0][0]) || !is_lower(parts[0][1])) return false;
  const std::string_view number = parts.back();
  if (number.empty() || number.size() > 2) return false;
  for (char c : number) {
    if (!is_digit(c)) return false;
  }
  for (size_t i = 1; i + 1 < parts.size(); ++i) {
    if (parts[i].empty()) return false;
    for (char c : parts[i]) {
      if (!is_lower(c)) return false;
    }
  }
  return true;
}

// Endpoint prefixes whose signing name is neither the prefix itself nor its last label.
constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kSigningNames = {{
    {"email", "ses"},
    {"data.iot", "iotdata"},
    {"data-ats.iot", "iotdata"},
    {"bedrock-runtime", "bedrock"},
    {"bedrock-agent", "bedrock"},
    {"bedrock-agent-runtime", "bedrock"},
    {"aps-workspaces", "aps"},
    {"portal.sso", "awsssoportal"},
    {"oidc", "sso-oauth"},
    {"api.tunneling.iot", "IoTSecuredTunneling"},
    {"s3-control", "s3"},
    {"s3-accesspoint", "s3"},
    {"execute-api", "execute-api"},
    {"runtime-v2-lex", "lex"},
}};

// Global endpoints sign in their partition's home region.
std::string_view partition_home_region(std::string_view suffix) {
  return suffix == ".amazonaws.com.cn" ? "cn-north-1" : "us-east-1";
}

bool parse_s3(const std::vector<std::string_view>& labels, size_t s3_at, Endpoint* out) {
  std::string_view head = labels[s3_at];
  out->service = "s3";
  std::string bucket;
  for (size_t i = 0; i < s3_at; ++i) {
    if (i > 0) bucket += '.';
    bucket += labels[i];
  }
  size_t next = s3_at + 1;
  if (head == "s3-accesspoint" || head == "s3-accesspoint-fips" || head == "s3-control" ||
      head == "s3-control-fips") {
    // <alias>-<account>.s3-accesspoint.<region> / <account>.s3-control.<region>: not a bucket.
    out->service = std::string(head.substr(0, head.find("-fips")));
    out->fips = head.ends_with("-fips");
    bucket.clear();
  } else if (head == "s3-object-lambda") {
    out->service = "s3-object-lambda";
    bucket.clear();
  } else if (head == "s3-fips") {
    out->fips = true;
  } else if (head == "s3-external-1") {
    out->region = "us-east-1";
  } else if (head.starts_with("s3-") && is_region(head.substr(3))) {
    out->region = std::string(head.substr(3));  // legacy s3-<region>
  } else if (head != "s3") {
    return false;
  }
  out->bucket = std::move(bucket);
  if (next < labels.size() && labels[next] == "dualstack") {
    out->dualstack = true;
    ++next;
  }
  if (next < labels.size()) {
    if (!out->region.empty() || !is_region(labels[next])) return false;
    out->region = std::string(labels[next]);
    ++next;
  }
  if (next != labels.size()) return false;
  out->global = out->region.empty();
  return true;
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view host_in) {
  if (host_in.empty() || host_in.size() > kHostBytesMax + 1) return std::nullopt;
  std::string host(host_in);
  if (host.back() == '.') host.pop_back();
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!(is_lower(c) || is_digit(c) || c == '-' || c == '.')) return std::nullopt;
  }
  std::string_view suffix;
  for (std::string_view s : {std::string_view(".amazonaws.com.cn"),
                             std::string_view(".amazonaws.com"), std::string_view(".api.aws")}) {
    if (host.size() > s.size() && host.ends_with(s)) {
      suffix = s;
      break;
    }
  }
  if (suffix.empty()) return std::nullopt;
  std::string_view rest(host.data(), host.size() - suffix.size());

  std::vector<std::string_view> labels;
  size_t start = 0;
  for (size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == '.') {
      if (i == start || labels.size() == kLabelsMax) return std::nullopt;
      labels.push_back(rest.substr(start, i - start));
      start = i + 1;
    }
  }

  Endpoint e;
  e.dualstack = suffix == ".api.aws";
  // S3 names: the first label that is "s3" or one of its dashed forms.
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == "s3" || labels[i].starts_with("s3-")) {
      if (!parse_s3(labels, i, &e)) return std::nullopt;
      if (e.global) e.region = std::string(partition_home_region(suffix));
      return e;
    }
  }

  size_t n = labels.size();
  if (n >= 2 && is_region(labels[n - 1])) {
    e.region = std::string(labels[n - 1]);
    --n;
  } else if (n >= 2 && labels[n - 1] == "us-gov") {
    e.region = "us-gov-west-1";  // iam.us-gov.amazonaws.com
    e.global = true;
    --n;
  } else {
    e.global = true;
    e.region = std::string(partition_home_region(suffix));
  }
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) e.service += '.';
    e.service += labels[i];
  }
  if (e.service.ends_with("-fips")) {
    e.fips = true;
    e.service.resize(e.service.size() - 5);
  }
  if (e.service.empty()) return std::nullopt;
  return e;
}

std::string_view signing_name_for(std::string_view prefix) {
  for (const auto& [p, name] : kSigningNames) {
    if (p == prefix) return name;
  }
  size_t dot = prefix.rfind('.');
  return dot == std::string_view::npos ? prefix : prefix.substr(dot + 1);
}

std::string check_scope(const Endpoint& endpoint, std::string_view scope_service,
                        std::string_view scope_region) {
  std::string_view expected = signing_name_for(endpoint.service);
  if (scope_service != expected && scope_service != endpoint.service) {
    return "the request is signed for service '" + std::string(scope_service) +
           "' but sent to the endpoint of '" + std::string(endpoint.service) +
           "'; sign it for '" + std::string(expected) + "'";
  }
  if (!endpoint.global) {
    if (scope_region != endpoint.region) {
      return "the request is signed for region '" + std::string(scope_region) +
             "' but sent to an endpoint in '" + endpoint.region + "'; set the region to '" +
             endpoint.region + "'";
    }
    return {};
  }
  // Global endpoints. S3's legacy global name serves buckets of every region.
  if (endpoint.service == "s3" || scope_region == endpoint.region) return {};
  return "the request is signed for region '" + std::string(scope_region) +
         "' but sent to the global endpoint of '" + endpoint.service + "', which signs in '" +
         endpoint.region + "'";
}

}  // namespace pamproxy::aws
