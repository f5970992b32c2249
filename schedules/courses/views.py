"""The patient-record pages about a course and its doses: start, pause, resume, stop and
record a dose given. They live with the course code (issue 8); each goes through a service in
`schedules.services` and lands back on the patient's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from patients.forms import WithdrawConsentForm
from patients.models import Consent, Patient
from schedules import planning, services
from schedules.access import get_patient_course
from schedules.courses.forms import (
    CorrectStartForm,
    CourseChangeForm,
    ResumeCourseForm,
    StartCourseForm,
)
from schedules.models import Booking, CourseEvent
from schedules.visits.views import dose_record_page
from tofersen_scheduler.dates import format_day

# The name of the "Preview changes" button (see courses.forms.PreviewedForm).
PREVIEW_BUTTON = "preview"


def _course_action(request, patient, form, title, action, *, preview=None, kind=""):
    """Bind → (preview) → service → redirect, shared by start/pause/resume/stop.

    With `preview` (cleaned data → `planning.ChangePreview`) the page shows what the change
    will do before it is made (issue 10): on GET for the date filled in, and again whenever
    "Preview changes" is pressed. `action` then gets the fingerprint of the preview the user
    saw (posted back) and the service makes the change only if, under the course lock, it is
    still what will happen (hazard H30); otherwise the page shows the new preview and asks
    again.
    """
    shown = None
    stale = ""  # why the preview is shown again, when a confirmation found it changed
    if form.is_valid():
        if preview is None or PREVIEW_BUTTON not in request.POST:
            confirmed = {} if preview is None else {"previewed": form.cleaned_data["previewed"]}
            try:
                message = action(form.cleaned_data, **confirmed)
            except services.PreviewChanged as changed:
                stale = str(changed)
            except services.ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, message)
                return redirect("patients:detail", patient.pk)
        if preview is not None:
            shown = preview(form.cleaned_data)
    elif preview is not None and not form.is_bound:
        shown = preview(
            {name: form.get_initial_for_field(f, name) for name, f in form.fields.items()}
        )
    if shown is not None:
        form.show_preview(shown.fingerprint)
    return render(
        request,
        "patients/form.html",
        {
            "form": form,
            "patient": patient,
            "title": title,
            "preview": shown,
            "preview_stale": stale,
            "preview_kind": kind,
        },
    )


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def course_start(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    form = StartCourseForm(request.POST or None, initial={"start_date": timezone.localdate()})

    def start(data):
        services.start_course(
            patient=patient, start_date=data["start_date"], started_by=request.user
        )
        return f"Treatment course started: dose 1 due {format_day(data['start_date'])}."

    return _course_action(request, patient, form, "Start treatment course", start)


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def course_resume(request, pk, course_pk):
    course = get_patient_course(pk, course_pk)
    form = ResumeCourseForm(request.POST or None, initial={"on": timezone.localdate()})

    def resume(data, previewed):
        services.resume_course(
            course=course,
            recorded_by=request.user,
            on=data["on"],
            restart_loading=data["restart_loading"],
            previewed=previewed,
        )
        extra = " Loading doses restart." if data["restart_loading"] else ""
        return f"Treatment resumed: the next dose is due as soon as possible.{extra}"

    def preview(data):
        decision = planning.Decision(
            CourseEvent.Kind.RESUME, data["on"], restart_loading=bool(data["restart_loading"])
        )
        return planning.preview_change(course, change=decision)

    return _course_action(
        request, course.patient, form, "Resume treatment", resume, preview=preview, kind="resume"
    )


# Pausing and stopping take the same form: a date and a reason (DESIGN §2).
COURSE_CHANGES = {
    "pause": (services.pause_course, "Pause treatment", "Treatment paused."),
    "stop": (services.stop_course, "Stop treatment", "Treatment stopped and the course closed."),
}


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def course_change(request, pk, course_pk, kind):
    course = get_patient_course(pk, course_pk)
    service, title, done = COURSE_CHANGES[kind]
    form = CourseChangeForm(
        request.POST or None, initial={"on": timezone.localdate()}, submit_label=title
    )

    def change(data, previewed):
        cancelled = service(
            course=course,
            recorded_by=request.user,
            on=data["on"],
            reason=data["reason"],
            reason_detail=data["reason_detail"],
            previewed=previewed,
        )
        return f"{done} {cancelled} future booking(s) cancelled."

    def preview(data):
        return planning.preview_change(course, change=planning.Decision(kind, data["on"]))

    return _course_action(request, course.patient, form, title, change, preview=preview, kind=kind)


@login_required
@permission_required("schedules.record_administration", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def dose_record(request, pk, course_pk, number):
    """ "Record given" on the patient page (issue 17 §2: one door). A dose booked for today or
    later is recorded at its visit: the user is sent there. Otherwise it is the same page, form
    and service as the visit's, as a dose given elsewhere (a clinician, a reason, the checks)."""
    course = get_patient_course(pk, course_pk)
    if not 1 <= number <= 1000:
        return redirect("patients:detail", pk)
    booking = (
        Booking.objects.active()
        .filter(dose__course=course, dose__number=number)
        .select_related("slot__unit", "dose")
        .first()
    )
    if booking is not None:
        if booking.local_date >= timezone.localdate():
            messages.info(
                request,
                f"Dose {number} is booked for {booking.slot}: record it at the visit, after "
                "the arrival and the pre-dose checks.",
            )
            return redirect("schedules:day", booking.local_date)
        return redirect("schedules:visit_give", booking.pk)
    return dose_record_page(
        request,
        dose_of=lambda: services.dose_for(course=course, number=number, by=request.user),
        number=number,
        booking=None,
        patient=course.patient,
        done_url=reverse("patients:detail", args=[pk]),
    )


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def correct_start(request, pk, course_pk):
    """A clinician corrects a start date typed wrong, seeing first which bookings it cancels."""
    course = get_patient_course(pk, course_pk)
    form = CorrectStartForm(request.POST or None, initial={"start_date": course.start_date})
    if form.is_valid():
        try:
            cancelled = services.correct_start_date(
                course=course, corrected_by=request.user, **form.cleaned_data
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"The course now starts on {format_day(form.cleaned_data['start_date'])}. "
                f"{cancelled} future booking(s) cancelled. Reprint the schedule letter.",
            )
            return redirect("patients:detail", pk)
    return render(
        request,
        "schedules/course_correct_start.html",
        {
            "form": form,
            "patient": course.patient,
            "course": course,
            "title": "Correct the start date",
            # What the correction cancels: the same query `correct_start_date` cancels.
            "to_cancel": planning.future_bookings(course)
            .select_related("dose", "slot__unit")
            .order_by("slot__start"),
        },
    )


@login_required
@permission_required("patients.change_consent", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def consent_withdraw(request, pk, consent_pk):
    patient = get_object_or_404(Patient, pk=pk)
    consent = get_object_or_404(Consent, pk=consent_pk, patient=patient, withdrawn_on__isnull=True)
    form = WithdrawConsentForm(request.POST or None, consent=consent)
    if form.is_valid():
        try:
            cancelled = services.withdraw_consent(
                consent=consent,
                withdrawn_on=form.cleaned_data["withdrawn_on"],
                withdrawn_by=request.user,
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.warning(
                request,
                f"{consent.get_kind_display()} withdrawn; {cancelled} future booking(s) "
                "cancelled. Treatment is on hold: no dose can be booked or given until a new "
                "consent is signed and a clinician records the review decision.",
            )
            return redirect("patients:detail", patient.pk)
    return render(
        request,
        "patients/consent_withdraw.html",
        {
            "form": form,
            "patient": patient,
            "title": f"Withdraw {consent.get_kind_display()}",
            "to_cancel": services.bookings_cancelled_by_withdrawal(patient),
        },
    )
