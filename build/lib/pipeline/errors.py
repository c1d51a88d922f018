"""The one base class of the failures we expect (a bad feed, a broken audio
file, an unknown collection): the CLI turns any of them into one line for
the user, and a Python caller can catch them all at once."""


class PodpipeError(Exception):
    """An expected failure; its message is a sentence a user can act on."""

    exit_code = 1  # the CLI's exit status: 1 for failed work, 2 for usage or configuration


class ConfigurationError(PodpipeError):
    """A setting, model or optional extra that stops the work before it starts."""

    exit_code = 2
