"""What every command shares: exit codes, JSON and warnings on the right stream, progress, the service.

Results go to stdout (so scripts can pipe them); notices, warnings and errors go to stderr, one
line each. ``-q/--quiet`` silences the notices (``notice``), never an error or a warning (``warn``).
Options every command spells the same way are added here (``add_count`` for ``-n``), so they are
checked the same way everywhere. Commands import this module, never ``papercast.cli`` (which imports
the commands).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercast.errors import UserError, redact
from papercast.ids import parse_date
from papercast.outfile import write_text
from papercast.sanitize import escape_controls

if TYPE_CHECKING:
    from datetime import date

    from papercast.service import Papercast

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away

_quiet = False

# What to run instead when there is no terminal for the TUI (named in that error).
HEADLESS_COMMANDS = ("papers", "recommend", "digest", "daily", "chat MESSAGE", "export", "fetch", "import")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other bad input."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        sys.stderr.write(f"papercast: error: {message} (see --help)\n")
        raise SystemExit(EXIT_USAGE)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def warn(message: str) -> None:
    """An error or a warning: always on stderr, even with ``-q`` (secrets redacted, controls escaped)."""
    sys.stderr.write(f"papercast: {fit_to_show(message)}\n")


def notice(message: str) -> None:
    """Something the user may like to know (a note, a confirmation, what was loaded): stderr, not
    with ``-q``."""
    if not _quiet:
        sys.stderr.write(f"papercast: {fit_to_show(message)}\n")


def fit_to_show(message: str) -> str:
    """A message as the terminal may see it: no key, URL credential or key-like query parameter
    (a setting's value can end up in any error), and no control character (paper text can too)."""
    return escape_controls(redact(message))


class EscapingStream:
    """A command's stdout or stderr with control characters escaped on the way out: the second line
    of defence behind ``Paper``'s cleaning (papers stored before it, text a model wrote), so nothing a
    command prints can drive the terminal. ``\\u001b`` is also a valid escape inside JSON strings."""

    def __init__(self, stream: Any, keep: str = "\n\t") -> None:
        self._stream = stream
        self._keep = keep

    def write(self, text: str) -> int:
        self._stream.write(escape_controls(text, keep=self._keep))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, buffer ...
        return getattr(self._stream, name)


@contextmanager
def escaped_output() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` as ``EscapingStream`` for the block (a command's run);
    stderr keeps ``\\r`` for the progress line."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(out), EscapingStream(err, keep="\n\t\r")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def positive_int(text: str) -> int:
    """argparse type of every count option: a whole number of at least 1 (``-n 0``, ``-n -1`` and
    ``-n x`` are bad input, exit 2, named in one line)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_day(text: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option's day (None when not given); bad input names the option (exit 2)."""
    return parse_date(text, option)


def window_of(args: argparse.Namespace) -> dict[str, date | None]:
    """A command's ``--since``/``--until`` as ``since``/``until``, checked before anything is loaded (a
    window that ends before it starts is bad input for every command, ``papers list`` as ``recommend``)."""
    since = parse_day(getattr(args, "since", None), "--since")
    until = parse_day(getattr(args, "until", None), "--until")
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    return {"since": since, "until": until}


def add_count(parser: argparse.ArgumentParser, default: int, what: str) -> None:
    """``-n N``, the same on every command: checked by ``positive_int``, with its default in the help."""
    parser.add_argument("-n", type=positive_int, default=default, metavar="N",
                        help=f"how many {what} (default {default})")


def write_output(path: str | Path, text: str, home: Path | None = None) -> Path:
    """Write a command's result to ``--out`` as ``>`` would, but atomically for a regular file (see
    ``papercast.outfile``); ``home``'s own files are refused. Returns the absolute path written."""
    return write_text(path, text, "--out", home)


class ProgressLine:
    """``done/total, rate, ETA`` on one rewritten stderr line when it is a terminal; silent when piped."""

    def __init__(self, label: str, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)()) and not _quiet
        self.started = time.perf_counter()
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.2 and done < total):
            return
        self._last = now
        rate = done / max(now - self.started, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0
        self.stream.write(f"\r{self.label}: {done}/{total} ({rate:.1f}/s, ETA {eta:.0f}s)   ")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def make_service(args: argparse.Namespace) -> Papercast:
    """The service for this invocation, with CLI flags as the highest-priority settings."""
    from papercast.service import Papercast  # lazy: the service (numpy, pydantic) stays off --help

    service = Papercast.at_home(args.home, model=getattr(args, "model", None),
                                language=getattr(args, "language", None))
    if service.settings.config_note:
        notice(f"note: {service.settings.config_note}")
    return service


def make_service_with_papers(args: argparse.Namespace) -> Papercast:
    """The service, with the bundled sample loaded (and said so) when the store is empty."""
    service = make_service(args)
    loaded = service.ensure_sample()
    if loaded:
        model = service.settings.embedding
        embedded = f" (embedded with {model})" if model else ""
        notice(f"empty store: loaded the bundled sample of {loaded} papers{embedded}")
    return service


def run_tui(args: argparse.Namespace) -> int:
    """The TUI, when there is a terminal to draw it on; without one (cron, a pipe, ``</dev/null``) a
    one-line error names the commands to use instead, rather than an app that hangs writing escape codes."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the TUI needs a terminal (stdin and stdout); without one use a command: "
                        f"{', '.join(HEADLESS_COMMANDS)} (see papercast --help)")
    from papercast.tui.app import run_app  # lazy: textual and the screens stay off every command

    return run_app(make_service(args), **getattr(args, "tui_options", {}))
