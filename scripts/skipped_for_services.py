"""Print the tests that a run skipped for want of PostgreSQL or Redis (from pytest's JUnit XML)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

SERVICES = ("Postgres", "Redis", "PostgreSQL")


def main(path: str) -> int:
    skipped: dict[str, list[str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        for skip in case.findall("skipped"):
            message = skip.get("message", "")
            if any(f"needs {service}" in message or f"need {service}" in message for service in SERVICES) or (
                    "PostgreSQL and Redis" in message):
                skipped.setdefault(message.removeprefix("Skipped: "), []).append(
                    f"{case.get('classname', '')}::{case.get('name', '')}")
    if not skipped:
        return 0
    total = sum(len(names) for names in skipped.values())
    print(f"\nSkipped for want of PostgreSQL or Redis ({total}):")
    for reason, names in sorted(skipped.items()):
        print(f"  {reason}:")
        for name in sorted(names):
            print(f"    {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
