"""The post-lumbar-puncture headache (PLPH) pathway (DESIGN §2): from a nurse's triage answers
to the matching step. Pure Python, no Django: the adverse-event service stores the answers, the
step and its advice.

The questions (DESIGN §2 "PLPH pathway" and "PLPH red flags"; the patient leaflet's safety net):
when it started (within 48 hours of the lumbar puncture), posture (worse sitting or standing,
better lying down), severity, duration (hours since it started), conservative care tried, and
the red flags: fever, neck stiffness, change in vision, vomiting, confusion, photophobia, new
numbness or weakness.

Judgement calls, written here so a clinician can check them:

- any red flag, or a severe headache that is not postural (DESIGN §2 lists "a non-postural
  severe headache" among the red flags), is urgent same-day review and holds the course like a
  serious event, whatever the other answers;
- the blood patch is for a typical PLPH that is severe and still present 24 hours or more after
  it started despite conservative care (DESIGN §2: "severe and still present after 24–48 hours
  despite that");
- a typical PLPH otherwise gets conservative care;
- a headache that is not typical (not postural, or later than 48 hours) and not severe is not
  treated as PLPH: a clinician reviews other causes.
"""

from dataclasses import dataclass

URGENT = "urgent"
BLOOD_PATCH = "blood_patch"
CONSERVATIVE = "conservative"
NOT_PLPH = "not_plph"
STEPS = (URGENT, BLOOD_PATCH, CONSERVATIVE, NOT_PLPH)


@dataclass(frozen=True)
class PlphStep:
    step: str  # one of STEPS
    advice: str

    @property
    def holds_course(self) -> bool:
        """A red flag holds the course for clinical review like a serious event (DESIGN §2)."""
        return self.step == URGENT


PLPH_CONSERVATIVE = (
    "Conservative care: lie flat, drink 2–3 litres of fluid a day, take paracetamol or "
    "ibuprofen, and caffeine (coffee, tea or cola). Call back if it is no better in 24–48 hours."
)
PLPH_URGENT = (
    "Red flag: urgent same-day medical review (possible meningitis, bleeding or raised "
    "pressure). Treatment is on hold until a clinician reviews it. Do not wait for the next visit."
)
PLPH_BLOOD_PATCH = (
    "Severe and persisting despite conservative care: refer to anaesthetics today for an "
    "epidural blood patch."
)
PLPH_NOT_TYPICAL = "Not a typical post-lumbar-puncture headache: a clinician reviews other causes."

# The red-flag questions, each asked on its own (DESIGN §2 PLPH red flags).
PLPH_RED_FLAGS = (
    "fever",
    "neck_stiffness",
    "vision_change",
    "vomiting",
    "confusion",
    "photophobia",
    "new_numbness_or_weakness",
)
# The other answers.
SEVERITIES = ("mild", "moderate", "severe")
PLPH_QUESTIONS = (
    "onset_within_48h",
    "postural",
    "severity",
    "hours_since_onset",
    "conservative_tried",
    *PLPH_RED_FLAGS,
)
# Keys of earlier triage records (and shorter names), read as today's questions so an old
# record's step can be worked out again.
ALIASES = {
    "neck_stiffness_with_fever": "neck_stiffness",
    "new_weakness": "new_numbness_or_weakness",
    "new_numbness": "new_numbness_or_weakness",
}
BLOOD_PATCH_AFTER_HOURS = 24


def triage_answers(answers: dict) -> dict:
    """The answers in canonical form: every question present, yes/no as booleans, severity
    one of `SEVERITIES` or "" (not answered), hours an int or None. Raises ValueError for an
    unknown question or an impossible answer."""
    canonical: dict = {}
    for key, value in answers.items():
        key = ALIASES.get(key, key)
        if key not in PLPH_QUESTIONS:
            raise ValueError(f"Unknown triage question: {key}")
        if key in PLPH_RED_FLAGS:
            canonical[key] = bool(value) or bool(canonical.get(key))
        else:
            canonical[key] = value
    severity = canonical.get("severity") or ""
    if severity not in ("", *SEVERITIES):
        raise ValueError("Severity is mild, moderate or severe.")
    hours = canonical.get("hours_since_onset")
    if hours in ("", None):
        hours = None
    else:
        hours = int(hours)
        if hours < 0:
            raise ValueError("Hours since the headache started cannot be negative.")
    result = {name: bool(canonical.get(name)) for name in PLPH_QUESTIONS}
    result["severity"] = severity
    result["hours_since_onset"] = hours
    return result


def red_flags(answers: dict) -> list[str]:
    """The red flags in the answers, including a severe headache that is not postural."""
    answers = triage_answers(answers)
    flags = [flag for flag in PLPH_RED_FLAGS if answers[flag]]
    if answers["severity"] == "severe" and not answers["postural"]:
        flags.append("severe_not_postural")
    return flags


def plph_advice(answers: dict) -> PlphStep:
    """The matching step of the PLPH pathway for the triage answers (DESIGN §2):

    1. a red flag (fever, neck stiffness, change in vision, vomiting, confusion, photophobia,
       new numbness or weakness, or a severe headache that is not postural) → urgent same-day
       review and a hold, whatever else;
    2. typical PLPH (within 48 h of the procedure, worse upright, better lying), severe and
       still present 24 hours or more after it started despite conservative care → refer to
       anaesthetics for an epidural blood patch;
    3. otherwise typical PLPH → conservative care;
    4. not typical → clinician review of another cause of headache.
    """
    if red_flags(answers):
        return PlphStep(URGENT, PLPH_URGENT)
    answers = triage_answers(answers)
    if not (answers["onset_within_48h"] and answers["postural"]):
        return PlphStep(NOT_PLPH, PLPH_NOT_TYPICAL)
    persisting = (answers["hours_since_onset"] or 0) >= BLOOD_PATCH_AFTER_HOURS
    if answers["severity"] == "severe" and persisting and answers["conservative_tried"]:
        return PlphStep(BLOOD_PATCH, PLPH_BLOOD_PATCH)
    return PlphStep(CONSERVATIVE, PLPH_CONSERVATIVE)
