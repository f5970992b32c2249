"""The post-lumbar-puncture headache (PLPH) pathway (DESIGN §2): from a nurse's triage answers
to the matching step. Pure Python, no Django: the adverse-event service stores its advice."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlphStep:
    step: str  # "urgent", "blood_patch", "conservative", "not_plph"
    advice: str


PLPH_CONSERVATIVE = (
    "Conservative care: lie flat, drink 2–3 litres of fluid a day, take paracetamol or "
    "ibuprofen, and caffeine (coffee, tea or cola). Call back if it is no better in 24–48 hours."
)
PLPH_RED_FLAGS = ("fever", "neck_stiffness_with_fever", "vision_change", "new_weakness")


def plph_advice(answers: dict) -> PlphStep:
    """The matching step of the PLPH pathway for the triage answers (DESIGN §2):

    - red flags (fever, neck stiffness with fever, vision change, new weakness) → urgent
      medical review, whatever else;
    - typical PLPH (within 48 h of the procedure, worse upright, better lying), severe and
      still present after 24 hours or more despite conservative measures → refer to
      anaesthetics for an epidural blood patch;
    - otherwise typical PLPH → conservative care;
    - not typical → clinician review of another cause of headache.
    """
    if any(answers.get(flag) for flag in PLPH_RED_FLAGS):
        return PlphStep(
            "urgent",
            "Red flag: urgent medical review today (possible meningitis or raised pressure). "
            "Do not wait for the next visit.",
        )
    typical = answers.get("onset_within_48h") and answers.get("postural")
    if not typical:
        return PlphStep(
            "not_plph",
            "Not a typical post-lumbar-puncture headache: a clinician reviews other causes.",
        )
    hours = int(answers.get("hours_since_onset") or 0)
    if answers.get("severity") == "severe" and hours >= 24 and answers.get("conservative_tried"):
        return PlphStep(
            "blood_patch",
            "Severe and persisting despite conservative care: refer to anaesthetics for an "
            "epidural blood patch.",
        )
    return PlphStep("conservative", PLPH_CONSERVATIVE)
