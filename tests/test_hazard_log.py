"""The hazard log (docs/hazard-log.md) names the test that proves each control: every name it
cites must be a real test, so the log cannot silently rot when tests are renamed."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cited_tests():
    """(file, test name) pairs; `::name` alone refers to the last file named before it."""
    text = (ROOT / "docs" / "hazard-log.md").read_text()
    pairs, current = [], None
    for file, name in re.findall(r"`(test_\w+\.py)?::(test_\w+)`", text):
        current = file or current
        pairs.append((current, name))
    return pairs


def test_every_hazard_cites_tests_that_exist():
    pairs = cited_tests()
    missing = [
        f"{file}::{name}"
        for file, name in pairs
        if not re.search(rf"^def {name}\(", (ROOT / "tests" / file).read_text(), re.M)
    ]

    assert len(pairs) >= 15
    assert missing == []
