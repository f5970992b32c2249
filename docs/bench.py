"""Performance of the pages a unit opens all day, as a unit would run it (`make bench`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tofersen_bench .venv/bin/python docs/bench.py
    [--patients 5000] [--runs 60] [--port 8765] [--no-seed] [--write docs/performance.md]

1. Recreates the database named in DATABASE_URL (PostgreSQL; it must be a scratch database:
   the script drops it), migrates it and loads `seed_demo --patients N` (default 5,000).
2. Serves it with gunicorn, 2 sync workers, DEBUG off, on 127.0.0.1 only.
3. Times each page over real HTTP (a new connection per request, as a browser behind a proxy
   would), `RUNS` requests each after a few warm-ups, and `/healthz` (no database) on the same
   server in the same run as the floor. Every loop is bounded by its count and by a deadline.
   The patient feed is timed over `RUNS` different patients (a spread of stages), three ways:
   the first request for each patient (cold: nothing rendered yet), repeat requests (each
   worker keeps the rendered feed by its ETag, so most are served from that cache: "warm"),
   and the conditional GET a calendar app sends (If-None-Match, 304). The live board's
   refresh (issue 20) two ways: the poll of an unchanged board (If-None-Match, 304: one query,
   before the session is read) and a poll after a change (200: the board re-rendered).
4. Stops gunicorn itself (also on error or Ctrl-C) and prints a Markdown table; `--write`
   replaces the table in docs/performance.md, with the machine it ran on.
"""

import argparse
import http.client
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tofersen_bench"
DEADLINE_SECONDS = 900  # the whole timing phase, whatever RUNS says
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# Everything the timing phase needs, printed by one Django process as KEY=VALUE lines.
PREPARE = """
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from patients.models import Patient
from patients.services import issue_feed_link
from schedules.models import TreatmentCourse

nurse = User.objects.get(username="nurse")
session = SessionStore()
session[SESSION_KEY] = str(nurse.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = nurse.get_session_auth_hash()
session.create()
course = (
    TreatmentCourse.objects.filter(status="active", doses__given_at__isnull=False)
    .order_by("patient_id").select_related("patient").first()
)
patient = course.patient
print("SESSION=" + session.session_key)
print("PATIENT=" + str(patient.pk))
print("SEARCH=" + patient.family_name)
# Feed links for FEED_PATIENTS patients spread over the list (every stage the demo seeds).
ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
step = max(1, len(ids) // FEED_PATIENTS)
tokens = [
    issue_feed_link(patient=Patient.objects.get(pk=pk), issued_by=nurse)
    for pk in ids[::step][:FEED_PATIENTS]
]
print("TOKENS=" + ",".join(tokens))
print("PATIENTS=" + str(Patient.objects.count()))
from django.utils import timezone
print("TODAY=" + timezone.localdate().isoformat())
"""


def env(debug: bool, database_url: str) -> dict:
    values = dict(os.environ)
    values.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="tofersen_scheduler.settings",
        DEBUG="1" if debug else "0",
        SECRET_KEY="bench-only-throwaway-database-key-not-secret-0123456789",  # noqa: S106
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
    )
    return values


def manage(*args, debug=True, database_url: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env(debug, database_url),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def recreate(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.startswith("tofersen_") or "bench" not in name:
        sys.exit(f"Refusing to drop {name!r}: the bench database's name must contain 'bench'.")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def settle(database_url: str) -> None:
    """VACUUM ANALYZE after the bulk load, as autovacuum would within minutes on a live
    database: fresh planner statistics and merged GIN (trigram) indexes, not a table the
    planner has never seen."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def request(port: int, path: str, *, cookie: str = "", headers=None) -> tuple[int, float, dict]:
    sent = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", **(headers or {})}
    if cookie:
        sent["Cookie"] = cookie
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=sent)
        response = connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - began) * 1000
        return response.status, elapsed, dict(response.getheaders())
    finally:
        connection.close()


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            sys.exit("gunicorn exited before answering /healthz.")
        try:
            if request(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("gunicorn did not answer /healthz within 30 seconds.")


def percentiles(timings: list[float]) -> tuple[float, float, int]:
    timings = sorted(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    return statistics.median(timings), p95, len(timings)


def time_requests(port, requests, *, deadline) -> tuple[float, float, int]:
    """Each (path, headers, expected status) once, in order, no warm-up."""
    timings = []
    for path, headers, expect in requests:
        if time.monotonic() > deadline:
            break
        status, elapsed, _ = request(port, path, headers=headers)
        if status != expect:
            sys.exit(f"GET {path.split('/')[1]}/… answered {status}, expected {expect}.")
        timings.append(elapsed)
    return percentiles(timings)


def time_page(port, path, *, runs, deadline, cookie="", headers=None, expect=200):
    for _ in range(3):  # warm-up: worker imports, first-query caches
        request(port, path, cookie=cookie, headers=headers)
    timings = []
    for _ in range(runs):
        if time.monotonic() > deadline:
            break
        status, elapsed, _ = request(port, path, cookie=cookie, headers=headers)
        if status != expect:
            sys.exit(f"GET {path} answered {status}, expected {expect}.")
        timings.append(elapsed)
    return percentiles(timings)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} CPUs, {system}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "60")))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-seed", action="store_true", help="Reuse the loaded database.")
    parser.add_argument("--write", help="Replace the table in this Markdown file.")
    parser.add_argument("--label", default="", help="A note for the table's heading.")
    parser.add_argument(
        "--feed-patients", type=int, default=0, help="Patients whose feeds are timed (RUNS)."
    )
    options = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not database_url.startswith("postgres"):
        sys.exit("The bench runs on PostgreSQL: set DATABASE_URL=postgres://…/tofersen_bench.")

    seconds = None
    if not options.no_seed:
        recreate(database_url)
        manage("migrate", "--noinput", database_url=database_url)
        began = time.monotonic()
        manage("seed_demo", "--patients", str(options.patients), database_url=database_url)
        seconds = time.monotonic() - began
        print(f"seed_demo --patients {options.patients}: {seconds:.0f} s", flush=True)
        settle(database_url)
    manage("collectstatic", "--noinput", "--verbosity", "0", debug=False, database_url=database_url)
    feed_patients = options.feed_patients or options.runs
    prepare = f"FEED_PATIENTS = {feed_patients}\n{PREPARE}"
    facts = dict(
        line.split("=", 1)
        for line in manage("shell", "-c", prepare, database_url=database_url).splitlines()
        if "=" in line
    )
    cookie = f"sessionid={facts['SESSION']}"
    pages = [
        ("/healthz (floor, no database)", "/healthz", {}, 200),
        ("Today", "/today/", {}, 200),
        ("Needs booking", "/needs-booking/", {}, 200),
        ("Overdue & rebook", "/overdue/", {}, 200),
        ("Month", "/calendar/", {}, 200),
        ("Week", "/calendar/week/", {}, 200),
        ("Patient list", "/patients/", {}, 200),
        ("A patient's page", f"/patients/{facts['PATIENT']}/", {}, 200),
        ("Search", f"/patients/?q={facts['SEARCH']}", {}, 200),
    ]
    feeds = [f"/feeds/{token}.ics" for token in facts["TOKENS"].split(",")]

    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [
            PYTHON,
            "-m",
            "gunicorn",
            "tofersen_scheduler.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{options.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env(False, database_url),
        start_new_session=True,
    )
    rows = []
    try:
        wait_until_up(options.port, server)
        deadline = time.monotonic() + DEADLINE_SECONDS
        for name, path, headers, expect in pages:
            rows.append(
                (
                    name,
                    *time_page(
                        options.port,
                        path,
                        runs=options.runs,
                        deadline=deadline,
                        cookie=cookie,
                        headers=headers,
                        expect=expect,
                    ),
                )
            )
            print(
                f"{rows[-1][0]:<32} p50 {rows[-1][1]:7.1f} ms  p95 {rows[-1][2]:7.1f} ms",
                flush=True,
            )
        # The live board's poll (every 15 s from each open board): unchanged (304), changed
        # (no validator: the board re-rendered, as after another nurse's change).
        poll = f"/day/{facts['TODAY']}/board/"
        htmx = {"HX-Request": "true"}
        etag = request(options.port, poll, cookie=cookie, headers=htmx)[2].get("ETag", "")
        for name, headers, expect in [
            ("Board refresh, unchanged (304)", {**htmx, "If-None-Match": etag}, 304),
            ("Board refresh, changed (200)", htmx, 200),
        ]:
            rows.append(
                (
                    name,
                    *time_page(
                        options.port,
                        poll,
                        runs=options.runs,
                        deadline=deadline,
                        cookie=cookie,
                        headers=headers,
                        expect=expect,
                    ),
                )
            )
            print(
                f"{rows[-1][0]:<32} p50 {rows[-1][1]:7.1f} ms  p95 {rows[-1][2]:7.1f} ms",
                flush=True,
            )
        # The feed: the first request per patient renders it (cold); the worker that served
        # it keeps it by its ETag, so repeats are mostly served from that cache (warm: with two
        # workers a repeat can still land on the one that has not rendered it yet).
        cold = time_requests(options.port, [(feed, {}, 200) for feed in feeds], deadline=deadline)
        etags = {}
        for feed in feeds:
            for _ in range(4):
                etags[feed] = request(options.port, feed)[2].get("ETag", "")
        warm = time_requests(options.port, [(feed, {}, 200) for feed in feeds], deadline=deadline)
        not_modified = time_requests(
            options.port,
            [(feed, {"If-None-Match": etags[feed]}, 304) for feed in feeds],
            deadline=deadline,
        )
        for name, figures in [
            (f"Patient feed (200, first request per patient: cold; {len(feeds)} patients)", cold),
            ("Patient feed (200, repeat request: rendered feed cached, warm)", warm),
            ("Patient feed (304, If-None-Match)", not_modified),
        ]:
            rows.append((name, *figures))
            print(
                f"{rows[-1][0]:<32} p50 {rows[-1][1]:7.1f} ms  p95 {rows[-1][2]:7.1f} ms",
                flush=True,
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    version = subprocess.run(  # noqa: S603 - our own interpreter
        [PYTHON, "-c", "import django, gunicorn; print(django.__version__, gunicorn.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.split()
    heading = (
        f"{facts['PATIENTS']} patients, PostgreSQL, gunicorn {version[1]} (2 sync workers), "
        f"Django {version[0]}, DEBUG off, real HTTP on 127.0.0.1; {options.runs} requests a "
        f"page after 3 warm-ups. {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}."
    )
    if seconds is not None:
        heading += f" seed_demo took {seconds:.0f} s."
    if options.label:
        heading = f"{options.label}: {heading}"
    table = [heading, "", "| Page | p50 ms | p95 ms | requests |", "|---|---:|---:|---:|"]
    table += [f"| {name} | {p50:.1f} | {p95:.1f} | {count} |" for name, p50, p95, count in rows]
    text = "\n".join(table)
    print("\n" + text)
    if options.write:
        target = ROOT / options.write
        old = target.read_text() if target.exists() else f"{BEGIN}\n{END}\n"
        before, _, rest = old.partition(BEGIN)
        _, _, after = rest.partition(END)
        target.write_text(f"{before}{BEGIN}\n{text}\n{END}{after}")


if __name__ == "__main__":
    main()
