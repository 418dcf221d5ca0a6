"""The docs that come from the code stay true to it: the configuration reference in
docs/admin-guide.md is exactly what `pamctl config reference` prints for this build."""

import os
import subprocess
import unittest

from harness import PAMCTL, SOURCE_ROOT

BEGIN = "<!-- BEGIN pamctl config reference -->"
END = "<!-- END pamctl config reference -->"


class DocsMatchCode(unittest.TestCase):
    def test_admin_guide_configuration_reference_is_current(self):
        with open(os.path.join(SOURCE_ROOT, "docs", "admin-guide.md")) as f:
            text = f.read()
        self.assertIn(BEGIN, text)
        documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
        out = subprocess.run([PAMCTL, "config", "reference"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(documented, out.stdout.strip("\n"),
                         "docs/admin-guide.md is out of date: run scripts/update-docs")


if __name__ == "__main__":
    unittest.main()
