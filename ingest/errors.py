"""The one exception an ingestor raises for an input it cannot use."""
from corpus.errors import KtpError


class SkipItem(KtpError):
    """This input is skipped; the message is the reason shown to the user (say how to fix it)."""
