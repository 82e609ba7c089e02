"""Logging through the standard library: a rotated file in the home, and stderr on request.

Every run writes INFO and above to ``$PAPERCAST_HOME/logs/papercast.log`` (rotated at 1 MB, three old
files kept), so a failure the user saw as one line can be read in full afterwards. ``-v`` also sends
INFO to stderr (messages only); ``--debug`` sends DEBUG to both, with tracebacks on stderr. Every
record passes through ``redact`` first, so no secret reaches a log. A home that cannot be written only
loses the file, silently. Modules log through ``logging.getLogger(__name__)`` and never import this
module, so a library user configures logging as they like; records still propagate to the root
logger (an embedding application, pytest's ``caplog``).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Any, TextIO

from papercast.errors import redact
from papercast.outfile import may_write

LOGGER = "papercast"
LOG_FILE = "papercast.log"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
VERBOSE_FORMAT = "papercast: %(message)s"
DEBUG_FORMAT = "papercast: %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 1_000_000
BACKUPS = 3
_HANDLER_MARK = "_papercast_handler"


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, without secrets.

    The rendered text replaces ``msg``/``args`` on the record itself, so every later handler
    (ours and any on the root logger) gets the redacted text; redacting twice changes nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """The log file; a write or rotation that fails (disk full, file removed) must not disturb the
    command, so the handler goes silent instead of printing logging's "--- Logging error ---"."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.failed = True

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (pytest and the TUI swap it), never
    to a stream saved at start-up that may be closed by then."""

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _BriefFormatter(logging.Formatter):
    """The message alone, without traceback: ``-v`` says what happens, ``--debug`` shows the stacks."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def log_path(home: Path) -> Path:
    return home / "logs" / LOG_FILE


def configure(home: Path | None, *, verbose: bool = False, debug: bool = False) -> Path | None:
    """Set up papercast's logging for this process; returns the log file (None when it cannot be written).

    Called once per CLI run; a second call replaces what the first set up (tests call ``main``
    many times in one process), so handlers never pile up. The home (and its ``logs``
    directory) is created here when it does not exist yet, so even the first run of a fresh
    home keeps its log.
    """
    reset()
    logger = logging.getLogger(LOGGER)
    level = logging.DEBUG if debug else logging.INFO
    logger.setLevel(level)
    redacting = RedactingFilter()
    # Without any handler of ours the standard library's "last resort" handler would print
    # every WARNING to stderr, next to the command's own one-line error.
    _add(logger, logging.NullHandler(), redacting)
    path: Path | None = None
    if home is not None:
        file_handler = _open_file(log_path(home))
        if file_handler is not None:
            file_handler.setLevel(level)
            file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
            _add(logger, file_handler, redacting)
            path = log_path(home)
    if verbose or debug:
        stream = _StderrHandler()
        stream.setLevel(level)
        stream.setFormatter(logging.Formatter(DEBUG_FORMAT) if debug else _BriefFormatter(VERBOSE_FORMAT))
        _add(logger, stream, redacting)
    return path


def reset() -> None:
    """Remove (and close) every handler ``configure`` added and give the level back to the parent."""
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.NOTSET)


def _open_file(target: Path) -> _QuietFileHandler | None:
    """The rotating handler of ``target``, or None when the file cannot be created or appended to."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not may_write(target if target.exists() else target.parent):
            return None  # a read-only home (file modes decide, for root too): no log rather than a change
        with target.open("a", encoding="utf-8"):  # fail now, not at the first record, when unwritable
            pass
        return _QuietFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
                                 delay=True)
    except OSError:
        return None


def _add(logger: logging.Logger, handler: logging.Handler, redacting: logging.Filter) -> None:
    handler.addFilter(redacting)
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
