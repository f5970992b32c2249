"""`make mutants`: prove the dosing engine's tests catch mistakes (mutation testing, issue 22).

1. mutmut (settings in pyproject.toml, [tool.mutmut]) copies the project into mutants/, makes
   every small mutation of schedules/engine.py it knows (a `<` made `<=`, `and` made `or`, a
   constant moved by one, a value replaced by None) and runs the engine's fast tests against
   each. A fresh copy every time, so no result is reused from an older engine.
2. The mistakes issue 22 names that mutmut does not make (a condition forced true, a line
   deleted, a module constant moved by one) are listed in docs/mutants.toml as [[hand_written]];
   each is applied to the engine's source in a separate pytest process.
3. Survivors that docs/mutants.toml lists as [[equivalent]] (with the reason they cannot change
   any result) are taken out of the count. Score = killed / (all - equivalent).
4. Prints the score and every surviving mutant with its diff; exits 1 below the bar (98%), or
   when the run is incomplete.

    python docs/mutants.py      # the whole run (about 2-3 minutes on 2 cores)

The tests run are the ones pyproject.toml selects for mutmut
(`pytest_add_cli_args_test_selection`); the hand-written mutants run the same ones.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "schedules" / "engine.py"
LIST = ROOT / "docs" / "mutants.toml"
BAR = 0.98
MUTMUT_SETTINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
# The engine's fast tests. The command's subprocess cases cannot see a mutant (mutmut runs
# only the tests it saw call the mutated function), so the pure and in-process ones count.
FAST_TESTS = MUTMUT_SETTINGS["pytest_add_cli_args_test_selection"]
PYTEST_FLAGS = ["-q", "-x", "--no-header", "--tb=no", *MUTMUT_SETTINGS["pytest_add_cli_args"]]
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
MUTMUT = [sys.executable, "-m", "mutmut"]


def run_mutmut() -> dict[str, str]:
    """{mutant name: status} from a fresh mutmut run."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    run = subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [*MUTMUT, "run"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        sys.exit(f"mutmut run failed ({run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    listing = subprocess.run(  # noqa: S603
        [*MUTMUT, "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"^\s*(\S+): (.+?)\s*$", listing, re.MULTILINE))


def mutant_diff(name: str) -> tuple[list[str], list[str]]:
    """The lines a mutant removes and adds, stripped."""
    shown = subprocess.run(  # noqa: S603
        [*MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    removed = [line[1:].strip() for line in shown.splitlines() if re.match(r"-(?!--)", line)]
    added = [line[1:].strip() for line in shown.splitlines() if re.match(r"\+(?!\+\+)", line)]
    return removed, added


def function_of(name: str) -> str:
    """`schedules.engine.x_plan__mutmut_3` -> `plan`; class methods as `Class.method`."""
    mangled = name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    if mangled.startswith("x\u01c1"):
        return ".".join(mangled[2:].split("\u01c1"))
    return mangled.removeprefix("x_")


def run_hand_written(mutant: dict, tests: list[str]) -> str:
    """Apply one hand-written mutant in a fresh pytest process: 'killed', 'survived' or a
    problem (the text to replace is not in the engine exactly once)."""
    source = ENGINE.read_text()
    if source.count(mutant["before"]) != 1:
        return "stale: its text is not in schedules/engine.py exactly once"
    env = dict(os.environ, HAND_WRITTEN_BEFORE=mutant["before"], HAND_WRITTEN_AFTER=mutant["after"])
    run = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--run-one", *tests],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    return {0: "survived", 1: "killed"}.get(run.returncode, f"error (pytest exit {run.returncode})")


def run_one(tests: list[str]) -> int:
    """In the child process: load the mutated engine as `schedules.engine`, then run pytest."""
    import importlib.util

    import pytest

    sys.path.insert(0, str(ROOT))
    source = ENGINE.read_text().replace(
        os.environ["HAND_WRITTEN_BEFORE"], os.environ["HAND_WRITTEN_AFTER"], 1
    )
    spec = importlib.util.spec_from_file_location("schedules.engine", ENGINE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["schedules.engine"] = module  # before exec: dataclasses look their module up
    try:
        exec(compile(source, str(ENGINE), "exec"), module.__dict__)  # noqa: S102 - our own source
    except Exception as error:  # a mutant that does not load proves no test: an error, not a kill
        print(f"the mutant does not load: {error!r}", file=sys.stderr)
        return 3
    import schedules

    schedules.engine = module
    return pytest.main([*PYTEST_FLAGS, *tests])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-one", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.run_one:
        return run_one(arguments.run_one)

    started = time.monotonic()
    listed = tomllib.loads(LIST.read_text())
    equivalents = listed.get("equivalent", [])
    tests = FAST_TESTS
    print(
        f"Mutation testing {', '.join(MUTMUT_SETTINGS['only_mutate'])} against: {' '.join(tests)}"
    )

    statuses = run_mutmut()
    if not statuses:
        sys.exit("mutmut reported no mutants: see `mutmut results`.")
    survivors, equivalent, used = [], [], set()
    for name, status in sorted(statuses.items()):
        if status in KILLED:
            continue
        removed, added = mutant_diff(name)
        for index, entry in enumerate(equivalents):
            if (
                entry["function"] == function_of(name)
                and removed == [entry["before"]]
                and added == [entry["after"]]
            ):
                equivalent.append(name)
                used.add(index)
                break
        else:
            survivors.append((name, status, removed, added))
    incomplete = [name for name, status, *_ in survivors if status == "not checked"]

    hand_written = listed.get("hand_written", [])
    # One pytest process each, as many at once as there are cores (mutmut does the same).
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = pool.map(lambda mutant: run_hand_written(mutant, tests), hand_written)
        hand_results = [
            (mutant["name"], result) for mutant, result in zip(hand_written, results, strict=True)
        ]

    total = len(statuses) - len(equivalent) + len(hand_results)
    killed = sum(status in KILLED for status in statuses.values())
    killed += sum(result == "killed" for _, result in hand_results)
    score = killed / total
    print(
        f"\nmutmut: {len(statuses)} mutants, {len(statuses) - len(survivors) - len(equivalent)} "
        f"killed, {len(equivalent)} equivalent (docs/mutants.toml), {len(survivors)} survived."
    )
    print(
        f"hand-written (docs/mutants.toml): {len(hand_results)} mutants, "
        f"{sum(result == 'killed' for _, result in hand_results)} killed."
    )
    for name, status, removed, added in survivors:
        print(f"\n  {status.upper()}  {name}   (mutmut show {name})")
        print("\n".join([f"    - {line}" for line in removed]))
        print("\n".join([f"    + {line}" for line in added]))
    for name, result in hand_results:
        if result != "killed":
            print(f"\n  {result.upper()}  hand-written: {name}")
    for index, entry in enumerate(equivalents):
        if index not in used:
            print(
                f"\n  note: equivalent not seen among the survivors (killed, or the line changed):"
                f" {entry['function']}: {entry['after']}"
            )
    print(
        f"\nScore: {killed}/{total} non-equivalent mutants killed = {score:.1%} "
        f"(bar {BAR:.0%}), {time.monotonic() - started:.0f} s."
    )
    if incomplete:
        print(f"FAILED: {len(incomplete)} mutants were not checked; the run is incomplete.")
        return 1
    if any(result not in ("killed", "survived") for _, result in hand_results):
        print("FAILED: a hand-written mutant could not be run; update docs/mutants.toml.")
        return 1
    if score < BAR:
        print("FAILED: below the bar. Each survivor needs a test, or an entry under")
        print("[[equivalent]] in docs/mutants.toml saying why it cannot change any result.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
