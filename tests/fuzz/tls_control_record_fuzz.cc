// Fuzz target: classify_control_record, which reads the handshake messages of a control record
// the kernel (kTLS) handed back. Any bytes must classify without reading out of bounds, and a
// verdict of "drop" must mean every message in the record is a complete NewSessionTicket.

#include <cstdint>
#include <cstdlib>
#include <span>

#include "pamproxy/tls/ktls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::tls;
  if (size == 0) return 0;
  std::span<const uint8_t> body(data + 1, size - 1);
  ControlAction action = classify_control_record(data[0], body);
  if (data[0] == 23 && action != ControlAction::kData) std::abort();
  if (action == ControlAction::kDrop) {
    size_t at = 0;
    while (at < body.size()) {
      if (body[at] != 4 || body.size() - at < 4) std::abort();
      at += 4 + (size_t{body[at + 1]} << 16 | size_t{body[at + 2]} << 8 | body[at + 3]);
    }
    if (at != body.size()) std::abort();
  }
  return 0;
}
