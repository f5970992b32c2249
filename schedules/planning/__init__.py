"""The one read path: every page, worklist, letter and feed asks here for a course's plan.

`plan_for` asks the engine (`schedules.engine`, the only place dates are computed) with the
unit's open days and booking policy over one horizon for everyone, and catches a contradictory
history in one place: the caller gets a `CoursePlan` whose `problem` says what a clinician must
correct, never an exception. Views and templates lay out what this package returns; they hold
no date arithmetic and no window rule. Planning and the capability selectors only read: they
import no `services` module and not `schedules.outlook`.

- `facts`: a course's stored facts → the engine's arguments (`CourseFacts`), the prefetch.
- `plans`: `plan_for`, `CoursePlan`, the patient record's timeline.
- `previews`: what a reschedule, pause, resume or stop will change (issue 10).
- `suggestions`: the next doses chained, each with its window's free slots levelled best
  first and the reason (issue 19).
- `course_svg`: the course picture's layout.
- `record`: a patient's courses as the patient pages show them (all `patients.views` reads).

The worklists and the forecast live with their capability (`schedules.booking.selectors`,
`schedules.unit.selectors`, …); their names are re-exported here so that `schedules.planning.X`
keeps working.
"""

from schedules.booking.selectors import (
    CHOICES_ON_BOOK_PAGE,
    CHOICES_ON_WORKLIST,
    LOOK_FURTHER_DAYS,
    OVERDUE_CHOICE_WEEKS,
    WORKLIST_PAGE_SIZE,
    BookDayRow,
    FlaggedRow,
    NeedsBooking,
    NeedsBookingRow,
    OverdueRow,
    OverdueWorklist,
    Problem,
    SlotChoice,
    UnrecordedRow,
    book_choices,
    book_next_options,
    bookable_on,
    needs_booking,
    overdue,
)
from schedules.courses.selectors import held_courses
from schedules.planning.facts import (
    CourseFacts,
    course_queryset,
    planned_course,
    planning_prefetch,
)
from schedules.planning.plans import (
    BOOKABLE_STATES,
    OPEN_DAY_HORIZON,
    PROBLEM,
    CoursePlan,
    TimelineRow,
    fresh_plan,
    next_dose,
    open_calendar,
    plan_course,
    plan_for,
    plans_for,
    plans_from_values,
    timeline,
)
from schedules.planning.previews import (
    PROVISIONAL_DAYS,
    ChangePreview,
    Decision,
    MovedDose,
    OutOfWindow,
    Reschedule,
    SeriesMove,
    future_bookings,
    preview_change,
    preview_confirmed,
    series_moves,
)
from schedules.planning.suggestions import (
    FreeSlots,
    SlotOffer,
    Suggestion,
    failed_days,
    rank_offers,
    suggest_slots,
)
from schedules.unit.selectors import (
    FORECAST_MAX_WEEKS,
    PROJECTION_WEEKS,
    VISITS_IN_FIRST_MONTH,
    ForecastReport,
    StartCapacity,
    WeekLoad,
    bookings_between,
    forecast_report,
    start_capacity,
    weeks_of,
)
from schedules.visits.selectors import follow_up_doses

__all__ = [
    "BOOKABLE_STATES",
    "CHOICES_ON_BOOK_PAGE",
    "CHOICES_ON_WORKLIST",
    "FORECAST_MAX_WEEKS",
    "LOOK_FURTHER_DAYS",
    "OPEN_DAY_HORIZON",
    "OVERDUE_CHOICE_WEEKS",
    "PROBLEM",
    "PROJECTION_WEEKS",
    "PROVISIONAL_DAYS",
    "VISITS_IN_FIRST_MONTH",
    "WORKLIST_PAGE_SIZE",
    "BookDayRow",
    "ChangePreview",
    "CourseFacts",
    "CoursePlan",
    "Decision",
    "FlaggedRow",
    "ForecastReport",
    "FreeSlots",
    "MovedDose",
    "NeedsBooking",
    "NeedsBookingRow",
    "OutOfWindow",
    "OverdueRow",
    "OverdueWorklist",
    "Problem",
    "Reschedule",
    "SeriesMove",
    "SlotChoice",
    "SlotOffer",
    "StartCapacity",
    "Suggestion",
    "TimelineRow",
    "UnrecordedRow",
    "WeekLoad",
    "book_choices",
    "book_next_options",
    "bookable_on",
    "bookings_between",
    "course_queryset",
    "failed_days",
    "follow_up_doses",
    "forecast_report",
    "fresh_plan",
    "future_bookings",
    "held_courses",
    "needs_booking",
    "next_dose",
    "open_calendar",
    "overdue",
    "plan_course",
    "plan_for",
    "planned_course",
    "planning_prefetch",
    "plans_for",
    "plans_from_values",
    "preview_change",
    "preview_confirmed",
    "rank_offers",
    "series_moves",
    "start_capacity",
    "suggest_slots",
    "timeline",
    "weeks_of",
]
