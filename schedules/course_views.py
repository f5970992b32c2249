"""The patient-record pages about a course and its doses: start, pause, resume, stop and
record a dose given. They live with the course code (issue 8); each goes through a service in
`schedules.services` and lands back on the patient's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from patients.models import Patient
from schedules import services
from schedules.course_forms import (
    AdministrationForm,
    CorrectStartForm,
    CourseChangeForm,
    ResumeCourseForm,
    StartCourseForm,
)
from schedules.models import Booking, TreatmentCourse
from tofersen_scheduler.dates import format_day


def _get_patient(pk) -> Patient:
    return get_object_or_404(Patient, pk=pk)


def _get_course(patient_pk, course_pk) -> TreatmentCourse:
    return get_object_or_404(
        TreatmentCourse.objects.select_related("patient"), pk=course_pk, patient_id=patient_pk
    )


def _course_action(request, patient, form, title, action):
    """Bind → service → redirect, shared by start/pause/resume/stop."""
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, message)
            return redirect("patients:detail", patient.pk)
    return render(request, "patients/form.html", {"form": form, "patient": patient, "title": title})


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_start(request, pk):
    patient = _get_patient(pk)
    form = StartCourseForm(request.POST or None, initial={"start_date": timezone.localdate()})

    def start(data):
        services.start_course(
            patient=patient, start_date=data["start_date"], started_by=request.user
        )
        return f"Treatment course started: dose 1 due {format_day(data['start_date'])}."

    return _course_action(request, patient, form, "Start treatment course", start)


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_resume(request, pk, course_pk):
    course = _get_course(pk, course_pk)
    form = ResumeCourseForm(request.POST or None, initial={"on": timezone.localdate()})

    def resume(data):
        services.resume_course(course=course, recorded_by=request.user, **data)
        extra = " Loading doses restart." if data["restart_loading"] else ""
        return f"Treatment resumed: the next dose is due as soon as possible.{extra}"

    return _course_action(request, course.patient, form, "Resume treatment", resume)


# Pausing and stopping take the same form: a date and a reason (DESIGN §2).
COURSE_CHANGES = {
    "pause": (services.pause_course, "Pause treatment", "Treatment paused."),
    "stop": (services.stop_course, "Stop treatment", "Treatment stopped and the course closed."),
}


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_change(request, pk, course_pk, kind):
    course = _get_course(pk, course_pk)
    service, title, done = COURSE_CHANGES[kind]
    form = CourseChangeForm(
        request.POST or None, initial={"on": timezone.localdate()}, submit_label=title
    )

    def change(data):
        cancelled = service(course=course, recorded_by=request.user, **data)
        return f"{done} {cancelled} future booking(s) cancelled."

    return _course_action(request, course.patient, form, title, change)


@login_required
@permission_required("schedules.record_administration", raise_exception=True)
@require_http_methods(["GET", "POST"])
def dose_record(request, pk, course_pk, number):
    course = _get_course(pk, course_pk)
    if not 1 <= number <= 1000:
        return redirect("patients:detail", pk)
    booking = (
        Booking.objects.active()
        .filter(dose__course=course, dose__number=number)
        .select_related("slot")
        .first()
    )
    initial_time = timezone.localtime(booking.slot.start) if booking else timezone.localtime()
    form = AdministrationForm(
        request.POST or None, initial={"given_at": initial_time.replace(second=0, microsecond=0)}
    )
    if form.is_valid():
        details = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            # One transaction: a refused record leaves no empty Dose row behind.
            with transaction.atomic():
                services.record_administration(
                    dose=services.dose_for(course=course, number=number),
                    given_at=form.cleaned_data["given_at"],
                    recorded_by=request.user,
                    **details,
                )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Dose {number} recorded as given.")
            return redirect("patients:detail", pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": course.patient, "title": f"Record dose {number} given"},
    )


@login_required
@permission_required("schedules.manage_course", raise_exception=True)
@require_http_methods(["GET", "POST"])
def correct_start(request, pk, course_pk):
    """A clinician corrects a start date typed wrong, seeing first which bookings it cancels."""
    course = _get_course(pk, course_pk)
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
            "to_cancel": services.bookings_cancelled_by_start_correction(course),
        },
    )
