#include "pamproxy/aws/rest_route.h"

#include <algorithm>
#include <cassert>

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

// A route's segment at `depth` as the routes are sorted by it: literals by text, then labels,
// greedy labels, and the end of the template last.
struct SortKey {
  uint32_t kind;  // SegmentKind, or kEnd
  std::string_view literal;
};
constexpr uint32_t kEnd = 3;

SortKey key_at(const RestRoute& route, size_t depth) {
  if (depth >= route.segment_count) return {kEnd, {}};
  uint32_t segment = kSegments[route.first_segment + depth];
  SegmentKind kind = segment_kind(segment);
  return {kind, kind == kLiteral ? text(segment_text(segment)) : std::string_view()};
}

// The first route of a sorted range that fits, found without trying them all: the routes that
// agree on their first `depth` segments are split by the next one, and only the group whose
// literal is the path's segment, the group with a label there, and then the greedy and ended
// routes can fit, in that order, which is the order of the range itself. Each route is looked at
// once at most; the recursion is as deep as the longest template.
struct RouteSearch {
  std::string_view p;
  std::string_view query;
  RestMatch out;

  // `front`: where the path's segment at `depth` starts, past p.size() when there is none;
  // `label`: how many labels the segments before `depth` hold.
  const RestRoute* find(const RestRoute* begin, const RestRoute* end, size_t depth, size_t front,
                        size_t label) {
    auto kind_below = [depth](uint32_t kind) {
      return [depth, kind](const RestRoute& r) { return key_at(r, depth).kind < kind; };
    };
    const RestRoute* labels = std::partition_point(begin, end, kind_below(kLabel));
    const RestRoute* greedy = std::partition_point(labels, end, kind_below(kGreedy));
    const RestRoute* ended = std::partition_point(greedy, end, kind_below(kEnd));
    if (front <= p.size()) {
      size_t stop = std::min(p.find('/', front), p.size());
      std::string_view segment = p.substr(front, stop - front);
      if (!segment.empty()) {
        auto [same, other] =
            std::equal_range(begin, labels, segment, [depth](const auto& a, const auto& b) {
              return literal_of(a, depth) < literal_of(b, depth);
            });
        if (const RestRoute* r = find(same, other, depth + 1, stop + 1, label)) return r;
        if (labels != greedy && label < out.labels.size()) {
          out.labels[label].value = segment;
          if (const RestRoute* r = find(labels, greedy, depth + 1, stop + 1, label + 1)) return r;
        }
      }
      for (const RestRoute* r = greedy; r != ended; ++r) {
        if (fits_path(*r, p, &out) && fits_query(*r, query)) return r;
      }
      return nullptr;
    }
    for (const RestRoute* r = ended; r != end; ++r) {
      if (fits_query(*r, query)) return name_labels(*r, label);
    }
    return nullptr;
  }

  // The labels' names, once a route without a greedy label fits (their values are set).
  const RestRoute* name_labels(const RestRoute& route, size_t count) {
    size_t label = 0;
    for (size_t i = 0; i < route.segment_count; ++i) {
      uint32_t segment = kSegments[route.first_segment + i];
      if (segment_kind(segment) != kLiteral) out.labels[label++].name = text(segment_text(segment));
    }
    assert(label == count);
    out.label_count = static_cast<uint8_t>(count);
    return &route;
  }

  static std::string_view literal_of(const RestRoute& route, size_t depth) {
    return key_at(route, depth).literal;
  }
  static std::string_view literal_of(std::string_view segment, size_t) { return segment; }
};

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
  const RestRoute* begin = kRoutes + signing->first_route;
  const RestRoute* end = begin + signing->route_count;
  begin =
      std::partition_point(begin, end, [&](const RestRoute& r) { return r.method < method_code; });
  end =
      std::partition_point(begin, end, [&](const RestRoute& r) { return r.method == method_code; });

  std::string_view p = path;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (!p.empty() && p.back() == '/') p.remove_suffix(1);
  RouteSearch search{p, query, {}};
  const RestRoute* route = search.find(begin, end, 0, p.empty() ? 1 : 0, 0);
  if (route == nullptr) return std::nullopt;
  const ModelService& service = kModelServices[route->service];
  search.out.operation = text(route->operation);
  search.out.service = text(service.name);
  search.out.protocol = service.protocol;
  return search.out;
}

}  // namespace pamproxy::aws
