"""How long a whole submission may take (a module without torch: the command line reads it)."""

DEFAULT_TIME_LIMIT = 300.0  # seconds: a whole lessons 00-04 grade takes seconds; one that hangs everywhere, minutes
