#pragma once
// pamctl audit search: filters the audit log offline (see cmd_audit_search.cc).

#include <string>
#include <vector>

namespace pamproxy::cli {

// args[0] == "search".
int run_audit_search(const std::vector<std::string>& args);

}  // namespace pamproxy::cli
