"""Prove that every collected test passed on some database, and none was skipped.

`make test` runs the suite on SQLite (without the tests marked `browser` or `postgres_only`,
which could not fail there) and then on PostgreSQL (everything). With TEST_LEDGER=<folder>,
`tests/conftest.py` writes, per pass and per xdist worker, the node ids it collected and those
it left for the other database, and, from the controller, the node ids that passed and those
skipped. Then:

    python -m tests.support.ledger <folder>

fails unless both databases ran, both collected the same tests, nothing was skipped, each
pass ran everything it did not leave for the other, and the union of what passed is the
whole collection. A test removed from both passes, or lost under xdist, fails here.
"""

import sys
from pathlib import Path

DATABASES = ("sqlite", "postgresql")


def _read(folder: Path, database: str, kind: str) -> set[str]:
    ids: set[str] = set()
    for path in folder.glob(f"{database}.{kind}.*"):
        ids |= {line for line in path.read_text().splitlines() if line}
    return ids


def problems(folder: Path) -> tuple[list[str], dict[str, int]]:
    found, counts = [], {}
    collected = {db: _read(folder, db, "collected") for db in DATABASES}
    for database in DATABASES:
        if not collected[database]:
            found.append(f"no test run on {database} was recorded")
    if found:
        return found, counts
    everything = collected["postgresql"]
    if collected["sqlite"] != everything:
        found.append(
            f"the passes collected different tests: {sorted(collected['sqlite'] ^ everything)[:5]}"
        )
    passed = set()
    for database in DATABASES:
        elsewhere = _read(folder, database, "elsewhere")
        ran = _read(folder, database, "passed")
        skipped = _read(folder, database, "skipped")
        counts[database] = len(ran)
        if skipped:
            found.append(f"{len(skipped)} skipped on {database}: {sorted(skipped)[:5]}")
        missing = collected[database] - elsewhere - ran
        if missing:
            found.append(f"{len(missing)} did not pass on {database}: {sorted(missing)[:5]}")
        if ran & elsewhere:
            found.append(
                f"ran on {database} although left for the other: {sorted(ran & elsewhere)[:5]}"
            )
        passed |= ran
    never = everything - passed
    if never:
        found.append(f"{len(never)} collected tests passed on no database: {sorted(never)[:5]}")
    counts["collected"] = len(everything)
    counts["passed somewhere"] = len(passed & everything)
    return found, counts


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    found, counts = problems(folder)
    for problem in found:
        print(f"ledger: {problem}", file=sys.stderr)
    if found:
        return 1
    print(
        f"ledger: {counts['collected']} tests collected, every one passed on some database "
        f"(SQLite {counts['sqlite']}, PostgreSQL {counts['postgresql']}), none skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
