"""Progress reporting that components use without knowing about the terminal.

Components call ``with progress_task("Training F", total=steps) as task: task.advance(); task.update(loss=0.1)``.
The CLI installs a rich-backed reporter (:func:`use_reporter`); elsewhere (tests, library use,
``--no-progress``, or a non-terminal stdout) the reporter is silent.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def update(self, **fields: Any) -> None: ...


class Reporter(Protocol):
    def task(self, description: str, total: int | None) -> contextlib.AbstractContextManager[Task]: ...


class _SilentTask:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **fields: Any) -> None:
        pass


class SilentReporter:
    """Does nothing; the default."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _SilentTask()


_current: Reporter = SilentReporter()


def use_reporter(reporter: Reporter) -> Reporter:
    """Install ``reporter`` as the current one; return the previous one."""
    global _current
    previous, _current = _current, reporter
    return previous


def progress_task(description: str, total: int | None = None) -> contextlib.AbstractContextManager[Task]:
    """A progress task on the current reporter (a no-op unless the CLI installed a rich one)."""
    return _current.task(description, total)
