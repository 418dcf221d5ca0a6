#pragma once
// Invariant checks. Traffic from the network never reaches one of these: bad input gets a
// specific error. A failed check is a bug in pamproxy, so it aborts with the place and the
// condition, in every build type (release too), before a wrong state can do damage.

namespace pamproxy::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* condition);
}  // namespace pamproxy::detail

#define PAMPROXY_CHECK(cond)                                                 \
  do {                                                                       \
    if (__builtin_expect(!(cond), 0)) {                                      \
      ::pamproxy::detail::check_failed(__FILE__, __LINE__, #cond);           \
    }                                                                        \
  } while (0)
