#pragma once
// Reading one cookie out of a request's Cookie field (RFC 6265 section 4.2.1: `name=value` pairs
// separated by "; "). Pure and bounded: one pass over the field, no allocation; the value
// returned is a view into `field`.
//
//   auto id = find_cookie(request.cookie, "__Host-pamproxy");   // nullopt: no session cookie
//
// Lenient where browsers are (spaces or tabs around pairs, a pair without '=' is skipped, a
// value in double quotes loses them) and strict where a session depends on it: a name given
// twice with different values is ambiguous and yields nullopt, so a second cookie planted by
// another page cannot choose which one the server reads.

#include <optional>
#include <string_view>

namespace pamproxy::admin {

std::optional<std::string_view> find_cookie(std::string_view field, std::string_view name);

}  // namespace pamproxy::admin
