"""Typed refusals that carry a Chinese message for the person in front of the screen."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; `message` is one line of Simplified Chinese, shown as is."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFoundError(UserError):
    exit_code = 3


class ValidationProblems(UserError):
    """Several problems found in files; `problems` are lines like `path:line: message`."""

    exit_code = 1

    def __init__(self, problems: list[str], summary: str) -> None:
        super().__init__(summary)
        self.problems = problems
