#pragma once
// Reading an application/x-www-form-urlencoded string (a query, a query-protocol body) without
// allocating: the walk over its pairs that every reader of one shares, and the few parameters
// the classifier needs.

#include <array>
#include <cstddef>
#include <string_view>

namespace pamproxy::aws {

// One name=value pair of a form, both still percent-encoded. `has_value` is false for a bare
// name (no '=').
struct FormPair {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

// Takes the next '&'-separated pair off the front of `*form`; false once `*form` is empty. An
// empty pair ("a&&b") comes out as an empty name.
bool next_form_pair(std::string_view* form, FormPair* pair);

// The value of the hex digit `c` (either case), or -1.
int hex_digit(char c);

// The value of `key` (first occurrence), decoded into `out`. False when absent or not decodable
// into `out`.
bool form_value(std::string_view form, std::string_view key, std::array<char, 128>* out,
                size_t* out_len);

// Whether the raw query has parameter `key` (with or without a value).
bool has_param(std::string_view query, std::string_view key);

// Whether the first `key` of the query decodes to `value`.
bool param_equals(std::string_view query, std::string_view key, std::string_view value);

}  // namespace pamproxy::aws
