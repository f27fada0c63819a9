"""The one exception an ingestor raises for an input it cannot use."""


class SkipItem(Exception):
    """This input is skipped; the message is the reason shown to the user (say how to fix it)."""
