// Fuzz target: opening sealed values (what the store reads back from its database file, which
// someone may have edited). Arbitrary bytes never open and never crash; anything sealed opens to
// itself, only at its own place.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/store/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pamproxy::store::MasterKey;
  std::array<uint8_t, 32> bytes;
  bytes.fill(0x42);
  static const MasterKey key = MasterKey::from_bytes(bytes);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (key.open(input, "records.secret_access_key:r-1").ok()) std::abort();  // forged
  std::string sealed = key.seal(input, "records.secret_access_key:r-1");
  auto opened = key.open(sealed, "records.secret_access_key:r-1");
  if (!opened.ok() || opened->reveal() != input) std::abort();
  if (key.open(sealed, "records.secret_access_key:r-2").ok()) std::abort();
  return 0;
}
