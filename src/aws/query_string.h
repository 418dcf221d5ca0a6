#pragma once
// Reading an application/x-www-form-urlencoded string (a query, a query-protocol body) without
// allocating: the few parameters the classifier needs.

#include <array>
#include <cstddef>
#include <string_view>

namespace pamproxy::aws {

// The value of `key` (first occurrence), decoded into `out`. False when absent or not decodable
// into `out`.
bool form_value(std::string_view form, std::string_view key, std::array<char, 128>* out,
                size_t* out_len);

// Whether the raw query has parameter `key` (with or without a value).
bool has_param(std::string_view query, std::string_view key);

// Whether the first `key` of the query decodes to `value`.
bool param_equals(std::string_view query, std::string_view key, std::string_view value);

}  // namespace pamproxy::aws
