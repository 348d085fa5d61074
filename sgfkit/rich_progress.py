"""A rich-backed :class:`sgfkit.progress.Reporter`: live progress bars for the CLI.

Installed by the CLI commands with :func:`progress_for_cli`; silent when stdout is not a terminal
or ``--no-progress`` is given.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from sgfkit.progress import SilentReporter, use_reporter


class _RichTask:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task_id, n)

    def update(self, **fields: Any) -> None:
        text = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        self.progress.update(self.task_id, info=text)


class RichReporter:
    """One rich ``Progress`` display; each ``progress_task`` adds a bar and removes it when done."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                                 console=console, transient=False)

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[_RichTask]:
        task_id = self.progress.add_task(description, total=total, info="")
        try:
            yield _RichTask(self.progress, task_id)
        finally:
            if total is not None:
                self.progress.update(task_id, completed=total)
            self.progress.stop_task(task_id)


@contextlib.contextmanager
def progress_for_cli(enabled: bool) -> Iterator[None]:
    """Install a rich reporter for the duration of a command (only when enabled and on a terminal)."""
    if not enabled or not sys.stdout.isatty():
        previous = use_reporter(SilentReporter())
        try:
            yield
        finally:
            use_reporter(previous)
        return
    reporter = RichReporter()
    previous = use_reporter(reporter)
    try:
        with reporter.progress:
            yield
    finally:
        use_reporter(previous)
