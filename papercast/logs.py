"""Logging through the standard library: a rotated file in the home, and stderr on request.

Every run writes INFO and above to ``$PAPERCAST_HOME/logs/papercast.log`` (rotated at 1 MB, three
old files kept), so a failure the user saw as one line can be read in full afterwards: the
retries, the guard's refusals, the fallbacks and each LLM failure's real cause. ``-v`` also sends
INFO to stderr; ``--debug`` sends DEBUG, with tracebacks. Every record passes through ``redact``
on its way to any handler, so no API key, URL credential or key-like query parameter reaches a
log. A home that cannot be written (read-only, full) only loses the file: the command still runs.

Modules log through ``logging.getLogger(__name__)`` (all under ``papercast``); nothing here is
imported by them, so a library user of papercast configures logging as they like.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from papercast.errors import redact

LOGGER = "papercast"
LOG_FILE = "papercast.log"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
MAX_BYTES = 1_000_000
BACKUPS = 3
_HANDLER_MARK = "_papercast_handler"


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def log_path(home: Path) -> Path:
    return home / "logs" / LOG_FILE


def configure(home: Path | None, *, verbose: bool = False, debug: bool = False) -> Path | None:
    """Set up papercast's logging for this process; returns the log file (None when it cannot be written).

    Called once per CLI run (again replaces what an earlier call set up, as tests do).
    """
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    redacting = RedactingFilter()
    path: Path | None = None
    if home is not None:
        try:
            target = log_path(home)
            target.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                                encoding="utf-8", delay=True)
            target.touch(exist_ok=True)  # fail now, not at the first record, when the home is read-only
        except OSError:
            file_handler = None
        if file_handler is not None:
            file_handler.setLevel(logging.DEBUG if debug else logging.INFO)
            file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
            _add(logger, file_handler, redacting)
            path = target
    if verbose or debug:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG if debug else logging.INFO)
        stream.setFormatter(logging.Formatter("papercast: %(levelname)s %(name)s: %(message)s" if debug
                                              else "papercast: %(message)s"))
        _add(logger, stream, redacting)
    return path


def _add(logger: logging.Logger, handler: logging.Handler, redacting: logging.Filter) -> None:
    handler.addFilter(redacting)
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
