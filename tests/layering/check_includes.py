#!/usr/bin/env python3
"""Fails when an #include in src/ or include/ crosses a module boundary that src/layering.txt
does not allow.

    tests/layering/check_includes.py [SOURCE_ROOT]

src/layering.txt lists each module with the modules it may use; the build links each module's
library against the same list. This test reads every file under src/<module>/ and
include/pamproxy/<module>/ and checks each `#include "pamproxy/<other>/..."` and
`#include "src/<other>/..."`: <other> must be the module itself or one it may use. It also fails
on a directory that the table does not name (a new module gets its line first), on an include of
a module that does not exist, and on a `#include "../..."`, which would hide the module it
reaches. Each failure names the file, the line, the include and the rule it breaks.
"""

import os
import re
import sys

TABLE = os.path.join('src', 'layering.txt')
SOURCE_SUFFIXES = ('.h', '.cc', '.hh', '.cpp', '.inc')
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')
MODULE_PATH = re.compile(r'^(?:pamproxy|src)/([^/]+)/')


class Rule:
    def __init__(self, module, uses, why, line):
        self.module = module
        self.uses = uses
        self.why = why
        self.line = line


def read_table(root):
    """src/layering.txt: `module: used modules...  # why`, one line per module."""
    rules = {}
    with open(os.path.join(root, TABLE), encoding='utf-8') as table:
        for number, text in enumerate(table, start=1):
            entry, _, why = text.partition('#')
            if not entry.strip():
                continue
            module, colon, uses = entry.partition(':')
            module = module.strip()
            if not colon or not module:
                sys.exit(f'{TABLE}:{number}: expected "module: modules it may use  # rule"')
            for used in uses.split():
                if used not in rules:
                    sys.exit(f'{TABLE}:{number}: {module} uses {used}, which is not a module '
                             'listed above it')
            rules[module] = Rule(module, set(uses.split()), why.strip(), number)
    return rules


def module_files(root):
    """Yields (module, directory, None) for each directory of src/ and include/pamproxy/, then
    (module, directory, path relative to root) for each source file under it."""
    for top in ('src', os.path.join('include', 'pamproxy')):
        for module in sorted(os.listdir(os.path.join(root, top))):
            directory = os.path.join(top, module)
            if not os.path.isdir(os.path.join(root, directory)):
                continue
            yield module, directory, None
            for parent, dirs, names in os.walk(os.path.join(root, directory)):
                dirs.sort()
                for name in sorted(names):
                    if name.endswith(SOURCE_SUFFIXES):
                        yield module, directory, os.path.relpath(os.path.join(parent, name), root)


def check(root):
    rules = read_table(root)
    failures = []
    files_checked = 0
    for module, directory, path in module_files(root):
        rule = rules.get(module)
        if path is None:
            if rule is None:
                failures.append(f'{directory}/: {module} is not a module of {TABLE}: add its line '
                                '(the modules it may use) before adding the directory')
            continue
        if rule is None:
            continue
        files_checked += 1
        with open(os.path.join(root, path), encoding='utf-8', errors='replace') as source:
            for number, text in enumerate(source, start=1):
                match = INCLUDE.match(text)
                if not match:
                    continue
                target = match.group(1)
                where = f'{path}:{number}: #include "{target}"'
                if target.startswith('../'):
                    failures.append(f'{where}: a relative include hides the module it reaches; '
                                    'write "pamproxy/<module>/..." or "src/<module>/..."')
                    continue
                used = MODULE_PATH.match(target)
                if not used or used.group(1) == module:
                    continue
                used = used.group(1)
                if used not in rules:
                    failures.append(f'{where}: {used} is not a module of {TABLE}')
                elif used not in rule.uses:
                    allowed = ', '.join(sorted(rule.uses)) or 'no other module'
                    failures.append(f'{where}: {module} may not use {used}. {module} may use: '
                                    f'{allowed} ({TABLE}:{rule.line}: {rule.why})')
    return files_checked, failures


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
    files_checked, failures = check(root)
    for failure in failures:
        print(failure)
    if failures:
        print(f'layering: {len(failures)} include(s) cross a module boundary ({files_checked} files '
              f'checked against {TABLE})')
        return 1
    print(f'layering: {files_checked} files checked against {TABLE}, no include crosses a module '
          'boundary')
    return 0


if __name__ == '__main__':
    sys.exit(main())
