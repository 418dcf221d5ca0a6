"""pamproxyd's life cycle: start on embedded defaults, SIGHUP reload (a bad file is refused and
the running configuration kept), SIGTERM stops with exit 0."""

import os
import signal
import unittest

from harness import Daemon, TempDir


class DaemonLifecycle(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_starts_on_embedded_defaults_and_stops_on_sigterm(self):
        d = Daemon([], cwd=self.tmp.path)
        try:
            start = d.wait_event("daemon.starting")
            self.assertEqual(start["config"], "(embedded defaults)")
            self.assertEqual(start["state_dir"], "pamproxy-state")
            d.wait_event("daemon.ready")
            st = os.stat(os.path.join(self.tmp.path, "pamproxy-state"))
            self.assertEqual(st.st_mode & 0o777, 0o700)
        finally:
            code = d.stop()
        self.assertEqual(code, 0)
        d.wait_event("daemon.stopped")

    def test_sighup_reloads_good_file_and_keeps_old_on_bad(self):
        state = os.path.join(self.tmp.path, "state")
        admin = '[admin]\nlisten = "127.0.0.1:0"\n'  # as the harness adds it; kept on rewrites
        path = self.tmp.file("p.toml", '[store]\ndirectory = "%s"\n' % state + admin)
        d = Daemon(["--config", path], cwd=self.tmp.path)
        try:
            d.wait_event("daemon.ready")
            self.tmp.file("p.toml", '[store]\ndirectory = "%s"\n[engine]\nktls = "maybe"\n' % state
                          + admin)
            d.signal(signal.SIGHUP)
            refused = d.wait_event("config.reload_refused")
            self.assertEqual(refused["key"], "engine.ktls")
            self.assertEqual(refused["line"], "4")
            d.wait_event("config.kept")
            self.tmp.file("p.toml", '[store]\ndirectory = "%s"\n[log]\nlevel = "debug"\n'
                          '[engine]\nthreads = 1\n' % state + admin)
            d.signal(signal.SIGHUP)
            reloaded = d.wait_event("config.reloaded")
            self.assertEqual(reloaded["changed"], "log.level")
            self.assertEqual(reloaded["restart_required"], "engine.threads")
        finally:
            self.assertEqual(d.stop(), 0)

    def test_bad_config_file_stops_start_with_key_and_line(self):
        path = self.tmp.file("bad.toml", "[audit]\non_full = \"drop\"\n")
        d = Daemon(["--config", path], cwd=self.tmp.path)
        code = d.proc.wait(timeout=20)
        self.assertEqual(code, 1)
        err = "\n".join(l for l in iter(d.lines.get, None))
        self.assertIn("%s:2:" % path, err)
        self.assertIn("key 'audit.on_full'", err)

    def test_embedded_defaults_serve_proxy_and_admin_api(self):
        d = Daemon([], cwd=self.tmp.path)
        try:
            listening = d.wait_event("engine.listening")
            self.assertEqual(listening["address"], "127.0.0.1:8081")
            admin = d.wait_event("admin.listening")
            self.assertEqual((admin["address"], admin["port"]), ("127.0.0.1:8443", "8443"))
            d.wait_event("daemon.ready")
            # Each thread is named for top -H, ps -L and perf.
            tasks = "/proc/%d/task" % d.proc.pid
            names = set()
            for tid in os.listdir(tasks):
                with open(os.path.join(tasks, tid, "comm")) as f:
                    names.add(f.read().strip())
            for name in ("pamproxy-w0", "pamproxy-audit", "pamproxy-admin", "pamproxy-dns",
                         "pamproxy-index"):
                self.assertIn(name, names)
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertFalse([l for l in d.seen if "component_missing" in l], d.seen)


if __name__ == "__main__":
    unittest.main()
