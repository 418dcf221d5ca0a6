#include "pamproxy/aws/rest_route.h"

#include <algorithm>

#include "src/aws/query_string.h"

namespace pamproxy::aws {
namespace {

// The shapes operation_table.inc is written in. A text is a slice of kPool packed in 32 bits:
// offset << 8 | size.
struct ModelService {
  uint32_t name;     // "lexv2-models"
  uint32_t signing;  // "lex"
  Protocol protocol;
  uint16_t route_count;  // its REST routes (0 for the other protocols, and for S3)
};

struct SigningName {
  uint32_t name;
  uint16_t first_route;  // kRoutes[first_route, first_route + route_count)
  uint16_t route_count;
};

// Routes of a signing name are sorted by method, then from the most specific to the least.
struct RestRoute {
  uint32_t operation;
  uint16_t service;        // index in kModelServices
  uint16_t first_segment;  // kSegments[first_segment, first_segment + segment_count)
  uint16_t first_query;    // kQueryKeys[first_query, first_query + query_count)
  uint8_t segment_count;
  uint8_t query_count : 4;
  uint8_t method : 4;  // index in kMethods
};

// A path segment: a text packed as above in the low 30 bits, its kind in the top two.
enum SegmentKind : uint32_t { kLiteral = 0, kLabel = 1, kGreedy = 2 };

struct QueryKey {
  uint32_t key;
  uint32_t value;  // kAnyValue: present with any value (or none)
};
constexpr uint32_t kAnyValue = 0xFFFFFFFF;

constexpr std::string_view kMethods[] = {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"};

// The text pool is one string literal longer than the 64 KiB the standard makes compilers
// support; GCC and Clang take it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "src/aws/operation_table.inc"
#pragma GCC diagnostic pop

static_assert(kTableLabelsMax <= RestMatch::kLabelsMax);
static_assert(sizeof(RestRoute) == 12);

constexpr std::string_view text(uint32_t ref) {
  return std::string_view(kPool + (ref >> 8), ref & 0xFF);
}
constexpr uint32_t segment_text(uint32_t segment) {
  return segment & 0x3FFFFFFF;
}
constexpr SegmentKind segment_kind(uint32_t segment) {
  return static_cast<SegmentKind>(segment >> 30);
}

bool fits_segment(uint32_t segment, std::string_view value, RestMatch* out, size_t label) {
  if (value.empty()) return false;
  if (segment_kind(segment) == kLiteral) return text(segment_text(segment)) == value;
  out->labels[label] = {text(segment_text(segment)), value};
  return true;
}

// Whether the path fits the route's segments; fills the labels. `p` is the path without its
// leading '/' and one trailing '/', so "a/b" has two segments and "" none. Segments before a
// greedy label are read from the front, those after it from the back, and the greedy label
// takes what lies between (at least one character).
bool fits_path(const RestRoute& route, std::string_view p, RestMatch* out) {
  const uint32_t* segments = kSegments + route.first_segment;
  const size_t count = route.segment_count;
  size_t greedy = count;
  for (size_t i = 0; i < count; ++i) {
    if (segment_kind(segments[i]) == kGreedy) greedy = i;
  }
  size_t label = 0;
  size_t front = 0;  // where the next segment starts; past p.size() once all are read
  if (p.empty()) front = 1;
  for (size_t i = 0; i < greedy; ++i) {
    if (front > p.size()) return false;
    size_t end = std::min(p.find('/', front), p.size());
    if (!fits_segment(segments[i], p.substr(front, end - front), out, label)) return false;
    if (segment_kind(segments[i]) != kLiteral) ++label;
    front = end + 1;
  }
  if (greedy == count) {
    out->label_count = static_cast<uint8_t>(label);
    return front > p.size();
  }
  if (front > p.size()) return false;
  size_t labels_after = 0;
  for (size_t i = greedy + 1; i < count; ++i) {
    if (segment_kind(segments[i]) != kLiteral) ++labels_after;
  }
  size_t back = p.size();  // where the segments read from the back begin
  size_t label_back = label + 1 + labels_after;
  for (size_t i = count; i-- > greedy + 1;) {
    if (back <= front) return false;
    size_t slash = p.rfind('/', back - 1);
    if (slash == std::string_view::npos || slash < front) return false;
    if (segment_kind(segments[i]) != kLiteral) --label_back;
    if (!fits_segment(segments[i], p.substr(slash + 1, back - slash - 1), out, label_back)) {
      return false;
    }
    back = slash;
  }
  if (back <= front) return false;
  out->labels[label] = {text(segment_text(segments[greedy])), p.substr(front, back - front)};
  out->label_count = static_cast<uint8_t>(label + 1 + labels_after);
  return true;
}

bool fits_query(const RestRoute& route, std::string_view query) {
  for (size_t i = 0; i < route.query_count; ++i) {
    const QueryKey& q = kQueryKeys[route.first_query + i];
    bool fits = q.value == kAnyValue ? has_param(query, text(q.key))
                                     : param_equals(query, text(q.key), text(q.value));
    if (!fits) return false;
  }
  return true;
}

const SigningName* find_signing_name(std::string_view name) {
  const SigningName* end = std::end(kSigningNames);
  const SigningName* it =
      std::lower_bound(std::begin(kSigningNames), end, name,
                       [](const SigningName& s, std::string_view n) { return text(s.name) < n; });
  return it != end && text(it->name) == name ? it : nullptr;
}

}  // namespace

std::string_view RestMatch::label(std::string_view name) const {
  for (size_t i = 0; i < label_count; ++i) {
    if (labels[i].name == name) return labels[i].value;
  }
  return {};
}

std::optional<RestMatch> match_rest_route(std::string_view signing_name, std::string_view method,
                                          std::string_view path, std::string_view query) {
  const SigningName* signing = find_signing_name(signing_name);
  if (signing == nullptr) return std::nullopt;
  const auto* known = std::find(std::begin(kMethods), std::end(kMethods), method);
  if (known == std::end(kMethods)) return std::nullopt;
  const auto method_code = static_cast<uint8_t>(known - std::begin(kMethods));
  std::string_view p = path;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (!p.empty() && p.back() == '/') p.remove_suffix(1);
  const RestRoute* routes = kRoutes + signing->first_route;
  RestMatch out;
  for (size_t i = 0; i < signing->route_count; ++i) {
    const RestRoute& route = routes[i];
    if (route.method < method_code) continue;
    if (route.method > method_code) break;
    if (!fits_path(route, p, &out) || !fits_query(route, query)) continue;
    const ModelService& service = kModelServices[route.service];
    out.operation = text(route.operation);
    out.service = text(service.name);
    out.protocol = service.protocol;
    return out;
  }
  return std::nullopt;
}

}  // namespace pamproxy::aws
