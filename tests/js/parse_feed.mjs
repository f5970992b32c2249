// Read an iCalendar feed on stdin with Mozilla's ical.js (the parser inside Thunderbird) and
// print one JSON object per event: UID, SEQUENCE, summary, status, and the start as ical.js
// understood it, in UTC and converted to Europe/London by Node's own tz database (Intl), so a
// wrong VTIMEZONE cannot hide behind itself. All-day events give their date instead.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(0, "utf8");
const root = new ICAL.Component(ICAL.parse(text));
for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}

const london = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function londonIso(date) {
  const parts = Object.fromEntries(london.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const start = event.startDate;
  const out = {
    uid: event.uid,
    sequence: event.sequence,
    summary: event.summary,
    status: vevent.getFirstPropertyValue("status"),
    all_day: start.isDate,
    tzid: start.isDate ? null : start.zone.tzid,
    alarms: vevent.getAllSubcomponents("valarm").length,
  };
  if (start.isDate) {
    out.date = start.toString();
  } else {
    const instant = start.toJSDate();
    out.utc = instant.toISOString().slice(0, 16);
    out.london = londonIso(instant);
    out.end_london = londonIso(event.endDate.toJSDate());
  }
  return out;
});
process.stdout.write(JSON.stringify({ name: root.getFirstPropertyValue("x-wr-calname"), events }));
