"""The hazard log (docs/hazard-log.md) names the test that proves each control: every name it
cites must be a real test, so the log cannot silently rot when tests are renamed; and every
hazard's control can be removed by `make hazards` (docs/hazards.py), unless the row says it is
held by the database or an external parser."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _runner():
    spec = importlib.util.spec_from_file_location("hazards", ROOT / "docs" / "hazards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cited_tests():
    """(file, test name) pairs; `::name` alone refers to the last file named before it."""
    text = (ROOT / "docs" / "hazard-log.md").read_text()
    pairs, current = [], None
    for file, name in re.findall(r"`((?:\w+/)?test_\w+\.py)?::(test_\w+)`", text):
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


def test_every_removable_control_has_a_patch_for_make_hazards(db):
    from tests.support.hazard_patches import control_patches

    rows = _runner().hazards()
    patches = control_patches()

    assert [row["id"] for row in rows] == [f"H{n}" for n in range(1, len(rows) + 1)]
    assert len(rows) >= 61
    assert all(row["tests"] for row in rows)
    assert [r["id"] for r in rows if r["patchable"] and r["id"] not in patches] == []
    assert set(patches) <= {row["id"] for row in rows}
    # A hazard held by several controls removes each around the test that guards it.
    several = {row["id"]: row for row in rows if isinstance(patches.get(row["id"]), dict)}
    assert {hazard: sorted(patches[hazard]) for hazard in several} == {
        hazard: sorted(t.split("::")[1] for t in row["tests"]) for hazard, row in several.items()
    }


def test_every_removal_patch_still_finds_its_control(db):
    """A control renamed or moved would make its patch fail at setup, which `make hazards`
    would count as the test failing: every patch must apply cleanly here first."""
    from tests.support.hazard_patches import control_patches

    for removal in control_patches().values():
        for patch in removal.values() if isinstance(removal, dict) else [removal]:
            with patch():
                pass
