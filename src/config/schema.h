#pragma once
// The schema of the TOML configuration: one Field per key, in documentation order. Loading,
// validation, printing and change detection all walk this one table, so a key cannot exist in one
// of them and be missing from another.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "pamproxy/config/config.h"

namespace pamproxy::config::internal {

struct Field {
  std::string_view section;
  std::string_view key;
  std::string_view doc;
  bool restart_required;
  // Reads `node` into `config`; returns an empty string when valid, else what is wrong with it
  // (the caller adds file, line and key).
  std::function<std::string(const toml::node& node, Config& config)> parse;
  // The value as TOML text.
  std::function<std::string(const Config& config)> render;
};

const std::vector<Field>& fields();

// TOML text for a string (basic string with escapes).
std::string toml_quote(std::string_view s);

}  // namespace pamproxy::config::internal
