#pragma once
// pamctl audit search: filters the audit log offline (see cmd_audit_search.cc).

#include <string>
#include <vector>

namespace pamproxy::cli {

// args[0] == "search". Offline over DIR (or --config's directory); else through the admin API.
int run_audit_search(const std::vector<std::string>& args);
int run_audit_search_api(const std::vector<std::string>& args);

}  // namespace pamproxy::cli
