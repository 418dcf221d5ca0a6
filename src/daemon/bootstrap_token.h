#pragma once
// The first start's admin token: written once to <state>/bootstrap-admin-token (0600, the
// Bearer value "<token id>:<secret>") and, when stdout is a terminal or a plain pipe rather than
// the journal, printed once with the exact environment a newcomer exports for pamctl. The secret
// never goes to the log stream; the log line names the file.

#include <string>

#include "pamproxy/config/config.h"
#include "pamproxy/store/store.h"

namespace pamproxy::daemon {

// Returns false (and logs why) when the file cannot be written.
bool publish_bootstrap_token(const store::Bootstrap& bootstrap, const config::Paths& paths,
                             const config::Config& config);

}  // namespace pamproxy::daemon
