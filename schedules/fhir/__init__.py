"""A read-only HL7 FHIR R4 API under /fhir/R4/ (issue 21, item 4), so a hospital's record
system can read patients, appointments, doses given, adverse events and courses.

Its own Django app (label ``fhir``) inside ``schedules/``: its tables are the API's clients and
its read log; everything it serves is read from ``patients.models`` and ``schedules.models``.
"""
