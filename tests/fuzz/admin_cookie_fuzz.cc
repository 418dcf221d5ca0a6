// Fuzz target: the Cookie field. Whatever arrives, a value found is a view inside the field, and
// looking for a name that cannot be there finds nothing.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/admin/cookie.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pamproxy::admin::find_cookie;
  std::string_view field(reinterpret_cast<const char*>(data), size);
  for (std::string_view name : {std::string_view("__Host-pamproxy"), std::string_view("a")}) {
    auto value = find_cookie(field, name);
    if (!value) continue;
    const char* begin = field.data();
    if (value->data() < begin || value->data() + value->size() > begin + field.size()) std::abort();
    if (value->find(';') != std::string_view::npos) std::abort();
  }
  if (find_cookie(field, "no;such name")) std::abort();
  return 0;
}
