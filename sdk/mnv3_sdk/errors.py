"""The one exception type the CLI turns into a clean one-line error and a non-zero exit."""


class SdkError(Exception):
    """A problem the user can act on; ``str(error)`` is the whole message shown to them."""
