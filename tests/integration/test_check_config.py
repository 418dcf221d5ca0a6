"""`pamproxyd --check-config` and `pamctl config check`: the documented example is valid; bad
files fail with the key, the file and the line."""

import os
import subprocess
import unittest

from harness import PAMCTL, PAMPROXYD, SOURCE_ROOT, TempDir

EXAMPLE = os.path.join(SOURCE_ROOT, "appliance", "pamproxy.toml")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_appliance_example_is_valid_and_printed(self):
        r = run(PAMPROXYD, "--check-config", EXAMPLE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[proxy]", r.stdout)
        self.assertIn('listen = ["127.0.0.1:8081"]', r.stdout)
        self.assertIn('ktls = "auto"', r.stdout)

    def test_bad_files_name_key_file_and_line(self):
        cases = [
            ("unknown.toml", "[proxy]\n# comment\nlisten_port = 8081\n", "proxy.listen_port", 3),
            ("type.toml", "[limits]\nhead_bytes_max = \"lots\"\n", "limits.head_bytes_max", 2),
            ("ktls.toml", "\n\n[engine]\nktls = \"maybe\"\n", "engine.ktls", 4),
        ]
        for name, text, key, line in cases:
            path = self.tmp.file(name, text)
            for cmd in ([PAMPROXYD, "--check-config", path], [PAMCTL, "config", "check", path]):
                r = run(*cmd)
                self.assertNotEqual(r.returncode, 0, cmd)
                out = r.stdout + r.stderr
                self.assertIn("%s:%d:" % (path, line), out, cmd)
                self.assertIn("key '%s'" % key, out, cmd)

    def test_hostile_input_fails_cleanly(self):
        for name, data in [("bin.toml", b"\x00\xff\xfe[[[\x00"),
                           ("deep.toml", b"a = " + b"[" * 5000),
                           ("long.toml", b"[proxy]\nlisten = [\"" + b"9" * 100000 + b"\"]\n")]:
            path = os.path.join(self.tmp.path, name)
            with open(path, "wb") as f:
                f.write(data)
            r = run(PAMPROXYD, "--check-config", path)
            self.assertEqual(r.returncode, 1, (name, r.stderr))
            self.assertIn(path, r.stderr)

    def test_version(self):
        r = run(PAMPROXYD, "--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^pamproxyd \d+\.\d+\.\d+")

    def test_usage_error_exits_2(self):
        r = run(PAMPROXYD, "--frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown argument", r.stderr)

    def test_reference_lists_every_section(self):
        r = run(PAMCTL, "config", "reference")
        self.assertEqual(r.returncode, 0)
        for section in ["proxy", "engine", "tls", "upstream", "admin", "store", "audit",
                        "session", "limits", "timeouts", "log"]:
            self.assertIn("## [%s]" % section, r.stdout)


if __name__ == "__main__":
    unittest.main()
