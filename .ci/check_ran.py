"""Fail CI when a test file's tests all skipped although CI found what they need.

Usage: python3 .ci/check_ran.py JUNIT_XML TEST_FILE. Prints how many of that file's tests ran,
passed and skipped, and exits 1 when none ran (a skip reason that should not apply in CI).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(junit: str, test_file: str) -> int:
    module = Path(test_file).with_suffix("").as_posix().replace("/", ".")
    cases = [c for c in ET.parse(junit).iter("testcase") if c.get("classname", "").startswith(module)]
    skipped = [c for c in cases if c.find("skipped") is not None]
    ran = len(cases) - len(skipped)
    print(f"CI: {test_file}: {ran} ran, {len(skipped)} skipped")
    if ran == 0:
        reasons = {s.find("skipped").get("message", "") for s in skipped}
        print(
            f"CI: FAILED: none of {test_file}'s tests ran; skip reasons: {sorted(reasons) or ['none collected']}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
