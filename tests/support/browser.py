"""What the browser tests share: Debian's Chromium, where failure artifacts go, signing in."""

from pathlib import Path

from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # kept on failure only


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


# The pre-dose checks' questions and the answer that lets the dose go ahead (issue 20: each an
# explicit yes/no question, a fieldset whose legend is the question).
CLEAR_CHECKS = {
    "identity confirmed": "Yes",
    "a severe headache": "No",
    "neck stiffness": "No",
    "a change in vision": "No",
    "new numbness or weakness": "No",
    "A fever today": "No",
    "Blood sample taken": "Yes",
    "Clotting and platelets": "Not requested",
}


def answer_checks(page, **changes):
    """Answer every pre-dose check by keyboard-reachable radio buttons (all clear, unless
    `changes` maps a question's words to another answer)."""
    for question, answer in {**CLEAR_CHECKS, **changes}.items():
        group = page.get_by_role("group", name=question)
        group.get_by_label(answer, exact=True).check()


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """Serious or critical axe-core violations (WCAG 2.2 AA and best practice) on the page;
    the context must bypass CSP (the script is the test's, injected here)."""
    page.add_script_tag(content=AXE.read_text())
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in results if v["impact"] in {"serious", "critical"}]
