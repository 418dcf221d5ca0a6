#include "pamproxy/base/check.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pamproxy::detail {

void check_failed(const char* file, int line, const char* condition) {
  char buf[512];
  int n = std::snprintf(buf, sizeof(buf), "level=fatal event=check.failed file=%s line=%d cond=\"%s\"\n",
                        file, line, condition);
  if (n > 0) {
    ssize_t ignored = ::write(2, buf, static_cast<size_t>(n) < sizeof(buf) ? n : sizeof(buf) - 1);
    (void)ignored;
  }
  std::abort();
}

}  // namespace pamproxy::detail
