"""pamctl's answers to what users type by habit: `--help` and `-h` after any command or
subcommand."""

import re
import subprocess
import unittest

from harness import PAMCTL


def pamctl(*args):
    return subprocess.run([PAMCTL] + list(args), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def listed_commands():
    """The commands `pamctl help` lists, in its order."""
    r = pamctl("help")
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("commands:\n", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  ([a-z0-9-]+) ", body, re.M)]


class HelpEverywhere(unittest.TestCase):
    """Every command pamctl lists, and every subcommand its usage names, answers --help and -h
    with its usage on stdout and exit 0."""

    def test_every_command_and_subcommand(self):
        commands = [c for c in listed_commands() if c != "version"]
        self.assertIn("sessions", commands)
        self.assertGreater(len(commands), 15)
        for command in commands:
            usage = None
            for flag in ("--help", "-h"):
                with self.subTest(command=command, flag=flag):
                    r = pamctl(command, flag)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertTrue(r.stdout.startswith("usage: pamctl "), r.stdout)
                    self.assertRegex(r.stdout, r"pamctl %s\b" % re.escape(command))
                    usage = r.stdout
            # The subcommands the usage names: "pamctl records add ...".
            subs = set(re.findall(r"pamctl %s ([a-z][a-z-]*)" % re.escape(command), usage or ""))
            for sub in sorted(subs):
                for flag in ("--help", "-h"):
                    with self.subTest(command=command, sub=sub, flag=flag):
                        r = pamctl(command, sub, flag)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        self.assertIn("pamctl %s %s" % (command, sub), r.stdout)

    def test_sessions_help_offline_flags(self):
        r = pamctl("sessions", "list", "--db", "/nonexistent.db", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: pamctl sessions list", r.stdout)
        self.assertIn("--db FILE", r.stdout)

    def test_usage_errors_still_exit_2(self):
        self.assertEqual(pamctl("sessions").returncode, 2)
        self.assertEqual(pamctl("records", "frobnicate").returncode, 2)
        self.assertEqual(pamctl("config").returncode, 2)


if __name__ == "__main__":
    unittest.main()
