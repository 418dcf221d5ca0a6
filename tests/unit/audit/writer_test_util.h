#pragma once
// Builds real audit logs with the real writer, for the verifier and writer tests.

#include <gtest/gtest.h>

#include <memory>

#include "audit_test_util.h"
#include "pamproxy/audit/writer.h"

namespace pamproxy::audit::testing {

inline WriterOptions small_options(const std::string& dir) {
  WriterOptions o;
  o.directory = dir;
  o.node = "test-node";
  o.ring_entries = 64;
  o.commit_interval_ms = 2;
  o.rotate_bytes = 1 << 30;
  o.rotate_age_s = 86400;
  o.retention_days = 0;
  o.checkpoint_interval_s = 3600;
  return o;
}

// Writes `n` sample events through one producer and stops the writer.
// The key is loaded from (or created at) `key_path` each time, as the daemon does.
inline void write_events(const WriterOptions& options, const std::string& key_path, uint64_t n,
                         uint64_t first = 0, bool wait_each = true) {
  auto key = SigningKey::load_or_create(key_path);
  ASSERT_TRUE(key.ok()) << key.status();
  auto w = Writer::open(options, std::move(*key));
  ASSERT_TRUE(w.ok()) << w.status();
  Ring* ring = (*w)->add_producer();
  (*w)->start();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t ticket;
    ASSERT_TRUE(ring->push_wait(sample_event(first + i), &ticket, 5000));
    // One commit per event ("before-forward"), so rotation by size happens at known points.
    if (wait_each) {
      ASSERT_TRUE(ring->wait_durable(ticket, 5000));
    }
  }
  (*w)->stop();
}

}  // namespace pamproxy::audit::testing
