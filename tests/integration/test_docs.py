"""The docs that come from the code stay true to it: the configuration reference in
docs/admin-guide.md is exactly what `pamctl config reference` prints for this build; and every
document under docs/ is in the README's Documentation list."""

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

    def test_readme_lists_every_document(self):
        with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
            readme = f.read()
        documentation = readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
        for name in sorted(os.listdir(os.path.join(SOURCE_ROOT, "docs"))):
            if name.endswith(".md"):
                self.assertIn("`docs/%s`" % name, documentation,
                              "README.md's Documentation list lacks docs/%s" % name)


if __name__ == "__main__":
    unittest.main()
