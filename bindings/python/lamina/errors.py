"""Exceptions carrying the library's own message (lamina_last_error()).

Each subclass also derives from the builtin a Python user expects, so `except ValueError` keeps
working when switching from scikit-learn."""
from __future__ import annotations


class LaminaError(Exception):
    """A Lamina call failed; `status` is the lamina_status code, the message says what and why."""

    status = -1

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class InvalidArgumentError(LaminaError, ValueError):
    status = 1


class ShapeMismatchError(LaminaError, ValueError):
    status = 2


class NonFiniteError(LaminaError, ValueError):
    status = 3


class LaminaIOError(LaminaError, OSError):
    status = 4


class FormatError(LaminaError, OSError):
    status = 5


class LaminaMemoryError(LaminaError, MemoryError):
    status = 6


class CancelledError(LaminaError):
    status = 7


class InternalError(LaminaError, RuntimeError):
    status = 8


try:  # scikit-learn is optional: when it is installed, ours is also its NotFittedError
    from sklearn.exceptions import NotFittedError as _SkNotFittedError
except ImportError:  # pragma: no cover - exercised by test_sklearn.py in a subprocess
    class _SkNotFittedError(ValueError, AttributeError):
        pass


class NotFittedError(InvalidArgumentError, _SkNotFittedError):
    """An estimator was used before fit. Also an InvalidArgumentError (status 1, a ValueError) and an
    AttributeError, and sklearn.exceptions.NotFittedError when scikit-learn is installed."""
    status = 1


_BY_STATUS = {cls.status: cls for cls in (InvalidArgumentError, ShapeMismatchError, NonFiniteError,
                                          LaminaIOError, FormatError, LaminaMemoryError,
                                          CancelledError, InternalError)}


def error_for_status(status: int, message: str) -> LaminaError:
    cls = _BY_STATUS.get(status, LaminaError)
    if cls is NonFiniteError and "NaN" not in message:
        message += " (Input contains NaN or infinity)"   # the words scikit-learn's checks look for
    return cls(message, status)
