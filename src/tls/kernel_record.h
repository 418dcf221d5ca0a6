#pragma once
// One TLS record sealed from the keys handed to the kernel (TrafficKeys, what to_crypto_info
// turns into tls12_crypto_info_*), built the way the kernel's TLS code builds it. Used once per
// kTLS hand-over to prove those keys and their record number against a record OpenSSL sealed
// (Session::transmit_keys_proven); nothing it seals is ever sent. Private to src/tls/.
// Never: keeps state between calls, or seals under keys of a suite the kernel does not take.
//
// The records, for record number `seq` (RFC 8446 section 5.2; RFC 5246 section 6.2.3.3 with
// RFC 5288 for AES-GCM and RFC 7905 for ChaCha20-Poly1305):
//   TLS 1.3, every suite   header(23, 0x0303, len) || AEAD(plain || type)
//                          nonce = iv XOR seq, additional data = the header
//   TLS 1.2 AES-GCM        header(type, 0x0303, len) || explicit(8) || AEAD(plain)
//                          nonce = salt(4) || explicit, additional data =
//                          seq(8) || type || 0x0303 || plain length(2)
//   TLS 1.2 ChaCha20       header(type, 0x0303, len) || AEAD(plain)
//                          nonce = iv XOR seq, additional data as for AES-GCM
// (seq is big-endian, XORed into the low 8 bytes of the 12-byte iv; every tag is 16 bytes.)

#include <cstddef>
#include <cstdint>
#include <span>

#include "pamproxy/tls/session.h"

namespace pamproxy::tls {

// The size of the record seal_kernel_record writes for `plain_len` bytes under `keys`; 0 for
// keys the kernel does not take.
size_t kernel_record_size(const TrafficKeys& keys, size_t plain_len);

// Seals `plain` (at most 2^14 bytes) as record number keys.sequence of content type `type`
// into `out`. A TLS 1.2 AES-GCM record carries `explicit_nonce` (the sender's choice: the kernel
// starts it at the record number, OpenSSL at a random value); other records ignore it. Returns
// the record's size, 0 when the keys are not of a suite the kernel takes, `out` is too small, or
// OpenSSL fails.
size_t seal_kernel_record(const TrafficKeys& keys, uint8_t type, std::span<const uint8_t> plain,
                          uint64_t explicit_nonce, std::span<uint8_t> out);

}  // namespace pamproxy::tls
