"""The appliance's package and units, checked without booting anything: the .deb recipe builds
from this build's `meson install`, carries the expected files with the expected modes and a
configuration the daemon accepts, and the units pass `systemd-analyze verify` and stay within
the exposure budget of `systemd-analyze security --offline=true`. (The image build and its boot
test are appliance/build and appliance/test: too slow for this suite.)"""

import os
import re
import stat
import subprocess
import unittest

from harness import PAMPROXYD, SOURCE_ROOT, TempDir

EXPOSURE_MAX = 2.0
BUILD_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(PAMPROXYD))))
UNIT = os.path.join(SOURCE_ROOT, "systemd", "pamproxyd.service")

# path in the package -> (file type, permission bits)
EXPECTED = {
    "usr/sbin/pamproxyd": (stat.S_IFREG, 0o755),
    "usr/bin/pamctl": (stat.S_IFREG, 0o755),
    "usr/lib/systemd/system/pamproxyd.service": (stat.S_IFREG, 0o644),
    "usr/lib/systemd/system/pamproxy-firstboot.service": (stat.S_IFREG, 0o644),
    "usr/lib/pamproxy/pamproxy-firstboot": (stat.S_IFREG, 0o755),
    "usr/lib/sysusers.d/pamproxy.conf": (stat.S_IFREG, 0o644),
    "usr/lib/modules-load.d/pamproxy-tls.conf": (stat.S_IFREG, 0o644),
    "etc/pamproxy/pamproxy.toml": (stat.S_IFREG, 0o644),
    "etc/pamproxy/credentials": (stat.S_IFDIR, 0o700),
    "usr/share/doc/pamproxy/copyright": (stat.S_IFREG, 0o644),
}


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)


def exposure(unit_path):
    r = run("systemd-analyze", "security", "--offline=true", "--no-pager", unit_path)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    if not m:
        raise AssertionError(f"no exposure figure in: {r.stdout}{r.stderr}")
    return float(m.group(1))


class DebPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        out = os.path.join(cls.tmp.path, "out")
        r = run(os.path.join(SOURCE_ROOT, "appliance", "deb", "build-deb"), BUILD_DIR, out)
        if r.returncode != 0:
            raise AssertionError(f"build-deb failed:\n{r.stdout}{r.stderr}")
        cls.deb = r.stdout.strip().splitlines()[-1]
        cls.root = os.path.join(cls.tmp.path, "root")
        r = run("dpkg-deb", "-x", cls.deb, cls.root)
        if r.returncode != 0:
            raise AssertionError(r.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def field(self, name):
        r = run("dpkg-deb", "-f", self.deb, name)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_contains_expected_files_with_modes_and_root_ownership(self):
        r = run("dpkg-deb", "-c", self.deb)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            self.assertEqual(line.split()[1], "root/root", line)
        for path, (kind, mode) in EXPECTED.items():
            st = os.lstat(os.path.join(self.root, path))
            self.assertEqual(stat.S_IFMT(st.st_mode), kind, path)
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, f"{path}: {oct(st.st_mode)}")
        self.assertEqual(os.listdir(os.path.join(self.root, "etc/pamproxy/credentials")), [],
                         "the package must never carry a master key")

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), "pamproxy")
        self.assertRegex(self.field("Version"), r"^\d+\.\d+\.\d+")
        depends = self.field("Depends")
        self.assertIn("libc6", depends)
        self.assertIn("systemd (>= 252)", depends)
        r = run("sh", "-c", f"dpkg-deb -I '{self.deb}' conffiles")
        self.assertEqual(r.stdout.split(), ["/etc/pamproxy/pamproxy.toml"])

    def test_packaged_binaries_run(self):
        r = run(os.path.join(self.root, "usr/sbin/pamproxyd"), "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^pamproxyd \d+\.\d+\.\d+")

    def test_packaged_configuration_is_valid_and_listens_on_all_addresses(self):
        config = os.path.join(self.root, "etc/pamproxy/pamproxy.toml")
        r = run(os.path.join(self.root, "usr/sbin/pamproxyd"), "--check-config", config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('listen = ["0.0.0.0:8081"]', r.stdout)
        self.assertIn('listen = "0.0.0.0:8443"', r.stdout)

    def test_units_verify(self):
        units = [os.path.join(self.root, "usr/lib/systemd/system", u)
                 for u in ("pamproxyd.service", "pamproxy-firstboot.service")]
        overlay = os.path.join(SOURCE_ROOT, "appliance", "rootfs")
        units += [os.path.join(overlay, "etc/systemd/system", u)
                  for u in ("appliance-firstboot.service", "pamproxy-status.service")]
        r = run("systemd-analyze", "verify", "--no-pager", *units)
        # The programs the units start are not installed on this host: accept exactly that
        # complaint, for programs the package or the image overlay does carry as executables.
        for line in (r.stdout + r.stderr).splitlines():
            m = re.fullmatch(r"\S+: Command (/\S+) is not executable: No such file or directory",
                             line.strip())
            self.assertIsNotNone(m, f"systemd-analyze verify: {line}")
            program = m.group(1).lstrip("/")
            self.assertTrue(any(os.access(os.path.join(base, program), os.X_OK)
                                for base in (self.root, overlay)), line)

    def test_unit_exposure_within_budget(self):
        packaged = os.path.join(self.root, "usr/lib/systemd/system/pamproxyd.service")
        figure = exposure(packaged)
        print(f"systemd-analyze security --offline=true pamproxyd.service: {figure}")
        self.assertLessEqual(figure, EXPOSURE_MAX)
        self.assertEqual(figure, exposure(UNIT), "the package must ship systemd/pamproxyd.service")

    def test_unit_has_restart_limits(self):
        with open(UNIT) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^StartLimitBurst=\d+$")
        self.assertRegex(text, r"(?m)^StartLimitIntervalSec=\S+$")
        self.assertRegex(text, r"(?m)^Restart=on-failure$")


if __name__ == "__main__":
    unittest.main()
