"""The base of every refused action, below both apps: `patients.services` raises it without
importing `schedules`, and `schedules.errors` builds its tree on it."""


class ServiceError(Exception):
    """A refused action; str(error) is the message shown to the nurse."""
