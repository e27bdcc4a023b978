"""Exceptions raised when the ``solvable`` command fails; each carries the CLI's own message.

Exit status of the CLI -> exception:

* 2 (bad input: the message names the parameter and its allowed values) -> :class:`BadInputError`, also a ``ValueError``
* 3 (a solver did not converge; the outputs were still written, marked) -> :class:`NotConvergedError`, with
  ``.result`` holding those partial outputs
* 4 (an agreement check failed) -> :class:`AgreementFailedError`, with ``.result``
* 1 or anything else (runtime failure) -> :class:`SolvableRuntimeError`, also a ``RuntimeError``
"""


class SolvableError(Exception):
    """Base class: ``message`` (the CLI's error line), ``exit_code``, ``command``, ``stderr`` and ``result``
    (the outputs written before the failure, when there are any)."""

    exit_code = None

    def __init__(self, message, *, command=None, exit_code=None, stderr="", result=None):
        super().__init__(message)
        self.message = message
        self.command = command
        self.stderr = stderr
        self.result = result
        if exit_code is not None:
            self.exit_code = exit_code


class BadInputError(SolvableError, ValueError):
    """Exit status 2: a parameter is missing, unknown or outside its allowed values."""

    exit_code = 2


class NotConvergedError(SolvableError):
    """Exit status 3: a solver did not converge. ``.result`` holds the outputs, marked as not converged."""

    exit_code = 3


class AgreementFailedError(SolvableError):
    """Exit status 4: a theory-vs-simulation agreement check failed. ``.result`` holds the outputs."""

    exit_code = 4


class SolvableRuntimeError(SolvableError, RuntimeError):
    """Exit status 1 (or a signal): the command failed at run time."""

    exit_code = 1


class BinaryNotFoundError(SolvableError, FileNotFoundError):
    """No ``solvable`` executable was found (or could be built)."""


_BY_CODE = {2: BadInputError, 3: NotConvergedError, 4: AgreementFailedError}


def error_for(code, message, **kwargs):
    """The exception for a CLI exit status."""
    cls = _BY_CODE.get(code, SolvableRuntimeError)
    return cls(message, exit_code=code, **kwargs)


def message_from(stderr, code):
    """The CLI's error message: its ``error:`` lines, else the last line it printed."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln[len("error:"):].strip() for ln in lines if ln.startswith("error:")]
    if errors:
        return "\n".join(errors)
    if code is not None and code < 0:
        return "solvable was killed by signal %d" % -code
    return lines[-1] if lines else "solvable exited with status %s" % code
