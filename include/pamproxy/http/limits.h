#pragma once
// Size limits of the HTTP/1.1 codec. A plain struct so the module stays pure (it never reads the
// configuration itself); `limits_from` copies the [limits] section field by field.

#include <algorithm>
#include <cstdint>

namespace pamproxy::http {

struct Limits {
  uint32_t head_bytes_max = 65536;          // whole head: start line, fields, final CRLF
  uint32_t header_count_max = 128;          // field lines in one head (or one trailer section)
  uint32_t header_name_bytes_max = 256;     // one field name
  uint32_t header_value_bytes_max = 16384;  // one field value, after trimming whitespace
  uint32_t connect_head_bytes_max = 4096;   // the plain-text CONNECT head before TLS
  uint32_t pipeline_depth_max = 16;         // requests read ahead on one connection (the caller's)
  uint32_t chunk_line_bytes_max = 4096;     // one chunk-size line with its extensions

  // The same limits for the CONNECT head read before the TLS handshake.
  Limits for_connect() const {
    Limits l = *this;
    l.head_bytes_max = std::min(head_bytes_max, connect_head_bytes_max);
    return l;
  }
};

// Builds Limits from pamproxy::config::LimitsSection (a template, so that http does not depend on
// the config module, which comes later in the layering). Values are validated by the config
// module; anything above 2^32-1 is clamped.
template <class Section>
Limits limits_from(const Section& s) {
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, UINT32_MAX)); };
  Limits l;
  l.head_bytes_max = u32(s.head_bytes_max);
  l.header_count_max = u32(s.header_count_max);
  l.header_name_bytes_max = u32(s.header_name_bytes_max);
  l.header_value_bytes_max = u32(s.header_value_bytes_max);
  l.connect_head_bytes_max = u32(s.connect_head_bytes_max);
  l.pipeline_depth_max = u32(s.pipeline_depth_max);
  return l;
}

}  // namespace pamproxy::http
