#!/usr/bin/env python3
"""Prints the plain closing line of a test run, 'N passed, M failed, K skipped', from Meson's
JSON test log (build-test/meson-logs/testlog.json by default)."""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "build-test/meson-logs/testlog.json"
counts = {"passed": 0, "failed": 0, "skipped": 0}
try:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            result = json.loads(line).get("result", "")
            if result in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif result == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1
except OSError as e:
    print(f"test-summary: {path}: {e.strerror}", file=sys.stderr)
    sys.exit(1)
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
