"""After the visit: adverse events, the clinical review of a held course, and follow-up calls
(issues 7 and 17). As the visit's pages: a form, a service, a message and a redirect."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from schedules import services
from schedules.access import (
    back,
    safe_next,
)
from schedules.models import AdverseEvent, Dose, FollowUpCall, TreatmentCourse
from schedules.visits.forms import (
    AdverseEventForm,
    FollowUpForm,
    ReviewForm,
)
from schedules.visits.selectors import follow_up_doses
from tofersen_scheduler.dates import format_day

manage_permission = permission_required("schedules.manage_course", raise_exception=True)
event_permission = permission_required("schedules.add_adverseevent", raise_exception=True)
call_permission = permission_required("schedules.add_followupcall", raise_exception=True)


# Adverse events and the review ----------------------------------------------------------------


def _course(course_id: int) -> TreatmentCourse:
    return get_object_or_404(TreatmentCourse.objects.select_related("patient"), pk=course_id)


@login_required
@event_permission
@require_http_methods(["GET", "HEAD", "POST"])
def adverse_event(request, course_id: int):
    course = _course(course_id)
    initial = {
        "term": request.GET.get("term", ""),
        "dose": request.GET.get("dose") or None,
        "follow_up_call": request.GET.get("call") or None,
    }
    form = AdverseEventForm(request.POST or None, course=course, initial=initial)
    if form.is_valid():
        try:
            event = _record_event(request, course, form)
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{event.label} recorded.")
            if event.advice:
                messages.info(request, f"PLPH advice: {event.advice}")
            if event.held:
                messages.warning(
                    request,
                    "Treatment is on hold for clinical review: no dose can be booked or given "
                    "until a clinician records continue, pause or stop.",
                )
            return redirect(
                safe_next(request) or reverse("patients:detail", args=[course.patient_id])
            )
    return render(
        request,
        "schedules/visit/course_form.html",
        {"form": form, "course": course, "patient": course.patient, "title": "Adverse event"},
        status=400 if request.method == "POST" else 200,
    )


def _record_event(request, course: TreatmentCourse, form: AdverseEventForm) -> AdverseEvent:
    """Record the event; when a follow-up call found it, through the follow-up service, which
    links it to the call (so the call leaves the follow-up list only then)."""
    kwargs = form.service_kwargs()
    call = form.cleaned_data.get("follow_up_call")
    if call is not None:
        kwargs.pop("dose", None)
        return services.record_follow_up_event(call=call, recorded_by=request.user, **kwargs)
    return services.record_adverse_event(course=course, recorded_by=request.user, **kwargs)


@login_required
@manage_permission
@require_http_methods(["GET", "HEAD", "POST"])
def review(request, course_id: int):
    course = _course(course_id)
    form = ReviewForm(request.POST or None)
    if form.is_valid():
        try:
            cancelled = services.record_review_decision(
                course=course, recorded_by=request.user, **form.cleaned_data
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            decision = form.cleaned_data["decision"]
            text = {
                "continue": "Treatment continues: the next dose is due as soon as possible.",
                "pause": f"Treatment paused; {cancelled} future booking(s) cancelled.",
                "stop": f"Treatment stopped; {cancelled} future booking(s) cancelled.",
            }[decision]
            course.refresh_from_db(fields=["status"])
            if decision == "continue" and course.status == TreatmentCourse.Status.PAUSED:
                # The review releases the hold, never a pause in force before it (H39).
                text = (
                    "The hold is released, but treatment stays paused: resume it from the "
                    "patient's page when it is safe, after checking what resuming changes."
                )
            messages.success(request, f"Review recorded. {text}")
            return redirect("patients:detail", course.patient_id)
    return render(
        request,
        "schedules/visit/course_form.html",
        {
            "form": form,
            "course": course,
            "patient": course.patient,
            "title": "Clinical review of the hold",
            "hold": course.open_hold,
            "events": course.adverse_events.filter(outcome=AdverseEvent.Outcome.ONGOING),
        },
        status=400 if request.method == "POST" else 200,
    )


# Follow-up calls -------------------------------------------------------------------------------


@login_required
@call_permission
@require_safe
def follow_up(request):
    today = timezone.localdate()
    return render(
        request,
        "schedules/visit/follow_up.html",
        {
            "rows": follow_up_doses(today),
            "form": FollowUpForm(),
            "headache": FollowUpCall.Outcome.HEADACHE,
            "headache_kinds": FollowUpForm.base_fields["term"].choices,
            "severities": AdverseEvent.Severity.choices,
            # The triage's yes/no questions (DESIGN §2 PLPH pathway and red flags), as ticks.
            "triage_ticks": [
                (name, FollowUpForm.base_fields[name].label)
                for name in FollowUpForm.TRIAGE
                if name not in ("term", "severity", "hours_since_onset")
            ],
            "outcomes": [
                choice
                for choice in FollowUpCall.Outcome.choices
                if choice[0] != FollowUpCall.Outcome.CLOSED
            ],
            "may_close": services.may_close_follow_up(request.user),
            "today": today,
            "here": request.get_full_path(),
        },
    )


@login_required
@call_permission
@require_POST
def follow_up_call(request, dose_id: int):
    dose = get_object_or_404(Dose.objects.select_related("course__patient"), pk=dose_id)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        problems = [error for errors in form.errors.values() for error in errors]
        messages.error(request, "Nothing was saved: " + " ".join(problems))
        return back(request, reverse("schedules:follow_up"))
    if form.cleaned_data["outcome"] == FollowUpCall.Outcome.HEADACHE and form.triage_started():
        try:
            event = services.record_follow_up_headache(
                dose=dose,
                recorded_by=request.user,
                note=form.cleaned_data["note"],
                **form.event_kwargs(),
            )
        except services.ServiceError as error:
            messages.error(request, f"Nothing was saved: {error}")
            return back(request, reverse("schedules:follow_up"))
        messages.success(
            request,
            f"Call recorded with the headache triage: {event.get_plph_step_display()}.",
        )
        return back(request, reverse("schedules:follow_up"))
    try:
        call = services.record_follow_up_call(
            dose=dose, recorded_by=request.user, **form.call_kwargs()
        )
    except services.ServiceError as error:
        messages.error(request, str(error))
        return back(request, reverse("schedules:follow_up"))
    messages.success(request, f"Call recorded: {call.get_outcome_display()}.")
    if call.outcome in FollowUpCall.NEEDS_EVENT:
        return redirect(event_url(call))
    if call.call_back_on:
        messages.info(request, f"Call back planned for {format_day(call.call_back_on)}.")
    return back(request, reverse("schedules:follow_up"))


def event_url(call: FollowUpCall) -> str:
    """The adverse-event form for what a call found: the headache triage for a headache."""
    query = {"call": call.pk, "dose": call.dose_id, "next": reverse("schedules:follow_up")}
    if call.outcome == FollowUpCall.Outcome.HEADACHE:
        query = {"term": AdverseEvent.Term.PLPH, **query}
    url = reverse("schedules:adverse_event", args=[call.dose.course_id])
    return f"{url}?{urlencode(query)}"
