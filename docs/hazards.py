"""`make hazards`: prove that every control of the hazard log is what keeps its tests green.

For each hazard in docs/hazard-log.md this removes its control (the monkeypatch named for it in
tests/support/hazard_patches.py) around each test the row cites, and runs those tests. Every
cited test must FAIL with its control removed; the run exits non-zero if one still passes, or if
a row neither has a patch nor is marked *database* / *external*.

Tests cited by two hazards run once per hazard, in separate pytest sessions ("rounds"), so a
round never needs two controls removed at once. A hazard held by several controls (H27, H58,
H61...) names them all in its last column; its patch is then a dict {cited test: patch}, so each
test runs with only the control it guards removed.

    python docs/hazards.py            # every hazard
    python docs/hazards.py H16 H22    # some
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "hazard-log.md"
NOT_PATCHABLE = ("*database*", "*external*")


def hazards() -> list[dict]:
    """Rows of the log: id, title, cited test node ids, and whether a patch is expected."""
    rows = []
    for line in LOG.read_text().splitlines():
        match = re.match(r"\| (H\d+) \| ([^|]+) \|", line)
        if not match:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        tests, current = [], None
        for file, name in re.findall(r"`((?:\w+/)?test_\w+\.py)?::(test_\w+)`", cells[4]):
            current = file or current
            tests.append(f"tests/{current}::{name}")
        rows.append(
            {
                "id": match.group(1),
                "title": match.group(2).strip(),
                "tests": tests,
                "patchable": cells[5] not in NOT_PATCHABLE,
                "removed": cells[5],
            }
        )
    return rows


def rounds(selected: list[dict]) -> list[dict[str, str]]:
    """[{test node id: hazard id}], each test at most once per round."""
    result: list[dict[str, str]] = []
    for hazard in selected:
        for test in hazard["tests"]:
            for plan in result:
                if test not in plan:
                    plan[test] = hazard["id"]
                    break
            else:
                result.append({test: hazard["id"]})
    return result


def run_round(plan: dict[str, str]) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        plan_path, results_path = Path(tmp, "plan.json"), Path(tmp, "results.json")
        plan_path.write_text(json.dumps(plan))
        env = dict(os.environ, HAZARD_PLAN=str(plan_path), HAZARD_RESULTS=str(results_path))
        subprocess.run(  # noqa: S603 - our own interpreter and test ids from our own log
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "--no-header",
                "-p",
                "tests.support.hazard_patches",
                "--tb=no",
                *sorted(plan),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if not results_path.exists():
            sys.exit("pytest did not run: see its output above.")
        return json.loads(results_path.read_text())


def main(argv: list[str]) -> int:
    started = time.monotonic()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tofersen_scheduler.settings")
    import django

    django.setup()
    from tests.support.hazard_patches import control_patches

    patches = control_patches()
    rows = [row for row in hazards() if not argv or row["id"] in argv]
    problems = []
    for row in rows:
        if row["patchable"] and row["id"] not in patches:
            problems.append(
                f"{row['id']}: no patch removes its control in tests/support/hazard_patches.py"
            )
        if not row["tests"]:
            problems.append(f"{row['id']}: cites no test")
    patchable = [row for row in rows if row["patchable"] and row["id"] in patches]
    outcomes: dict[tuple[str, str], list[str]] = {}
    for plan in rounds(patchable):
        results = run_round(plan)
        for test, hazard in plan.items():
            cases = [
                outcome
                for nodeid, outcome in results.items()
                if nodeid == test or nodeid.startswith(test + "[")
            ]
            outcomes[(hazard, test)] = cases
    for row in rows:
        if not row["patchable"]:
            print(f"{row['id']:4} {'held by ' + row['removed'].strip('*'):14} {row['title']}")
            continue
        if row["id"] not in patches:
            continue
        verdicts = []
        for test in row["tests"]:
            cases = outcomes.get((row["id"], test), [])
            if not cases:
                verdicts.append(f"    NOT RUN   {test}")
                problems.append(f"{row['id']}: {test} did not run")
            elif any(outcome == "failed" for outcome in cases):
                verdicts.append(f"    fails     {test}")
            else:
                verdicts.append(f"    PASSES    {test}")
                problems.append(f"{row['id']}: {test} still passes without its control")
        ok = all(line.startswith("    fails") for line in verdicts)
        print(f"{row['id']:4} {'control proved' if ok else 'NOT PROVED':14} {row['title']}")
        print(f"     removed: {row['removed']}")
        print("\n".join(verdicts))
    print(
        f"\n{len(rows)} hazards, {sum(r['patchable'] for r in rows)} with a removable control, "
        f"{len(problems)} problems, {time.monotonic() - started:.0f} s."
    )
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
