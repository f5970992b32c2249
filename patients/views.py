"""Patient pages: list and search, the record with its treatment timeline, registration,
consents, and a clinician's course decisions.

Every view has one shape: decorators, fetch through an access helper (404), bind a form, call
a service, redirect by URL name with a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from patients import services as patient_services
from patients.forms import (
    ConsentForm,
    PatientForm,
    PatientSearchForm,
)
from patients.models import Consent, FeedToken, Patient, normalise_nhs_number
from patients.search import SIMILAR_ENOUGH, name_match, similar_name
from schedules import planning
from schedules.messaging import selectors as messaging
from schedules.planning import record

PATIENTS_PER_PAGE = 50


def _get_patient(pk) -> Patient:
    return get_object_or_404(Patient, pk=pk)


@login_required
@permission_required("patients.view_patient", raise_exception=True)
def patient_list(request):
    search = PatientSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    if not search.is_valid():
        messages.error(
            request, "Search for a name, hospital number or NHS number (100 characters at most)."
        )
    listed = Patient.objects.prefetch_related(
        Prefetch("courses", queryset=record.open_courses(), to_attr="open_courses")
    )
    if query:
        # Every word is part of the name or hospital number, in any order and any case, with
        # apostrophes, commas and accents ignored ("Shah, Priya", "obrien"); a near miss on
        # PostgreSQL; NHS numbers as typed or spaced (patients/search.py).
        match = Q(hospital_number__icontains=query.strip()) | name_match(query)
        digits = normalise_nhs_number(query)
        if digits.isdigit():
            match |= Q(nhs_number__contains=digits)
        found = Patient.objects.all()
        similarity = similar_name(query)
        if similarity is not None:
            found = found.alias(similarity=similarity)
            match |= Q(similarity__gte=SIMILAR_ENOUGH)
        # The match reads every row (a substring and a trigram similarity): run it once, for
        # the matching ids in the list's order, which give the count and the page; the page's
        # patients are then read by id (issue 8: a count and a page were two full scans).
        ids = list(found.filter(match).values_list("pk", flat=True))
        page = Paginator(ids, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
        by_id = listed.in_bulk(page.object_list)
        page.object_list = [by_id[pk] for pk in page.object_list]
    else:
        page = Paginator(listed, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))

    courses = [patient.open_courses[0] for patient in page if patient.open_courses]
    # count=1: the doses given and the next one, all the list shows.
    plans = record.list_plans(courses, today=timezone.localdate())
    rows = []
    for patient in page:
        course = patient.open_courses[0] if patient.open_courses else None
        upcoming = planning.next_dose(plans[course.pk]) if course is not None else None
        rows.append({"patient": patient, "course": course, "next": upcoming})
    return render(
        request, "patients/patient_list.html", {"page": page, "rows": rows, "query": query}
    )


@login_required
@permission_required("patients.add_patient", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None, user=request.user, submit_label="Register patient")
    if form.is_valid():
        patient = _save_patient(request, form, Patient())
        if patient is not None:
            messages.success(request, f"{patient.full_name} registered.")
            return redirect("patients:detail", patient.pk)
    return render(request, "patients/form.html", {"form": form, "title": "New patient"})


def _save_patient(request, form, patient):
    """The form's values through the service (which re-checks who may change what)."""
    changes = {
        name: value for name, value in form.cleaned_data.items() if not form.fields[name].disabled
    }
    try:
        return patient_services.save_patient(patient=patient, changes=changes, by=request.user)
    except patient_services.ServiceError as error:
        form.add_error(None, str(error))
        return None


@login_required
@permission_required("patients.change_patient", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def patient_edit(request, pk):
    patient = _get_patient(pk)
    form = PatientForm(request.POST or None, instance=patient, user=request.user)
    if form.is_valid() and _save_patient(request, form, _get_patient(pk)) is not None:
        messages.success(request, "Patient details saved.")
        return redirect("patients:detail", patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "title": f"Edit {patient.full_name}"},
    )


@login_required
@permission_required("patients.view_patient", raise_exception=True)
def patient_detail(request, pk):
    patient = get_object_or_404(
        Patient.objects.prefetch_related("consents", record.record_courses()), pk=pk
    )
    courses = list(patient.courses.all())
    today = timezone.localdate()
    shown = record.course_record(courses, today=today)
    course = shown.course
    feed_token = (
        FeedToken.objects.active().filter(patient=patient).select_related("issued_by").first()
    )
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "course": course,
            "past_courses": [c for c in courses if c is not course],
            "timeline": shown.timeline,
            "course_timeline": shown.picture,
            "plan_problem": shown.problem,
            "course_given": shown.given,
            "blockers": patient.treatment_blockers(),
            "feed_token": feed_token,
            "can_manage": request.user.has_perm("schedules.manage_course"),
            "can_consent": request.user.has_perm("patients.add_consent"),
            "can_record": request.user.has_perm("schedules.record_administration"),
            "can_book": request.user.has_perm("schedules.add_booking"),
            "today": today,
            "patient_messages": (
                list(messaging.patient_messages(patient))
                if request.user.has_perm("messaging.view_message")
                else None
            ),
        },
    )


@login_required
@permission_required("patients.add_consent", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def consent_add(request, pk):
    patient = _get_patient(pk)
    form = ConsentForm(request.POST or None, instance=Consent(patient=patient))
    if form.is_valid():
        try:
            consent = patient_services.record_consent(
                patient=patient, recorded_by=request.user, **form.cleaned_data
            )
        except patient_services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{consent.get_kind_display()} recorded.")
            return redirect("patients:detail", patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "title": "Record consent"},
    )
