"""Progress reporters for the CLI: rich bars with an ETA on a terminal, timestamped lines elsewhere.

Installed by the CLI commands with :func:`progress_for_cli`. Progress goes to stderr so that stdout
stays for results (``run --json``). Piped output (CI logs, ``| tee``) gets :class:`LineReporter`
lines every few seconds; ``--quiet`` silences it; ``--log-file`` adds the same lines to a file.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sgfkit.progress import SilentReporter, use_reporter


def _fields_text(fields: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())


class _RichTask:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task_id, n)

    def update(self, **fields: Any) -> None:
        self.progress.update(self.task_id, info=_fields_text(fields))


class RichReporter:
    """One rich ``Progress`` display; each ``progress_task`` adds a bar (with elapsed time and ETA)."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[info]}"), console=console, transient=False)

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[_RichTask]:
        task_id = self.progress.add_task(description, total=total, info="")
        try:
            yield _RichTask(self.progress, task_id)
        finally:
            if total is not None:
                self.progress.update(task_id, completed=total)
            self.progress.stop_task(task_id)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _LineTask:
    def __init__(self, reporter: LineReporter, description: str, total: int | None) -> None:
        self.reporter, self.description, self.total = reporter, description, total
        self.done, self.fields = 0, ""
        self.start = self.last = reporter.clock()

    def line(self, final: bool = False) -> str:
        elapsed = max(self.reporter.clock() - self.start, 1e-9)
        rate = self.done / elapsed
        parts = [self.description, f"{self.done}/{self.total}" if self.total is not None else str(self.done),
                 f"{rate:.3g}/s"]
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif self.total is not None and rate > 0:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        return "  ".join(parts + ([self.fields] if self.fields else []))

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.reporter.clock()
        if now - self.last >= self.reporter.interval_s:
            self.last = now
            self.reporter.emit(self.line())

    def update(self, **fields: Any) -> None:
        self.fields = _fields_text(fields)


class LineReporter:
    """Plain ``[HH:MM:SS] stage n/N rate ETA`` lines: one at the start, one every ``interval_s``, one at the end."""

    def __init__(self, streams: list[TextIO], interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.streams, self.interval_s, self.clock = streams, interval_s, clock

    def emit(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        for stream in self.streams:
            stream.write(f"[{stamp}] {text}\n")
            stream.flush()

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[_LineTask]:
        task = _LineTask(self, description, total)
        self.emit(f"{description}  started" + (f" ({total} steps)" if total is not None else ""))
        try:
            yield task
        finally:
            self.emit(task.line(final=True))


@contextlib.contextmanager
def progress_for_cli(enabled: bool, *, quiet: bool = False, log_file: Path | None = None,
                     interval_s: float = 5.0) -> Iterator[None]:
    """Install a reporter for a command: rich bars on a terminal, lines when piped, none with --quiet.

    ``log_file`` (appended to) receives the plain lines whatever the terminal shows.
    """
    show = enabled and not quiet
    with contextlib.ExitStack() as stack:
        streams: list[TextIO] = []
        if log_file is not None:
            streams.append(stack.enter_context(open(log_file, "a", encoding="utf-8")))
        rich_reporter = None
        if show and sys.stderr.isatty() and not streams:
            from rich.console import Console

            rich_reporter = RichReporter(Console(stderr=True))
        elif show:  # piped, or a terminal plus a log file: the same lines on both
            streams.insert(0, sys.stderr)
        reporter: Any = rich_reporter or (LineReporter(streams, interval_s) if streams else SilentReporter())
        previous = use_reporter(reporter)
        try:
            if rich_reporter is not None:
                stack.enter_context(rich_reporter.progress)
            yield
        finally:
            use_reporter(previous)
