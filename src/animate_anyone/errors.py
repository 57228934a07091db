"""Errors that mean "the user's input is wrong" (as opposed to a bug).

The CLI turns these into one line on stderr and exit code 2; library callers can catch them.
"""


class InputError(ValueError):
    """A file, folder, argument or model that cannot be used as given."""
