"""The command line (see the CLI contract in DESIGN.md).

argparse keeps ``papercast --help`` fast: nothing heavy is imported until a command runs.
Each command group lives in ``papercast/commands/`` and registers itself here. Errors are one
line on stderr: exit 2 for bad input, 1 for runtime failures; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from papercast import __version__
from papercast.commands._output import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, ArgumentParser, run_tui, warn
from papercast.errors import RuntimeFailure, UserError, one_line, redact

log = logging.getLogger("papercast.cli")


def build_parser() -> ArgumentParser:
    from papercast.commands import COMMAND_MODULES

    parser = ArgumentParser(prog="papercast", description="A research-paper agent for the terminal. "
                            "Without a command, opens the TUI.")
    parser.add_argument("--home", help="data directory (default: $PAPERCAST_HOME or the XDG data dir)")
    parser.add_argument("--model", help="litellm model string (default: $PAPERCAST_MODEL; unset = offline)")
    parser.add_argument("-v", "--verbose", action="store_true", help="say what happens, on stderr (INFO log lines)")
    parser.add_argument("--debug", action="store_true", help="DEBUG log lines and tracebacks on stderr")
    parser.add_argument("--version", action="version", version=f"papercast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", run_tui)
    log_file = _start_logging(args, argv)
    started = time.perf_counter()
    try:
        code = _run(handler, args, log_file)
    except BaseException as exc:  # SystemExit from a command, a second Ctrl-C: on its way out
        log.info("ended by %s after %.1f s", type(exc).__name__, time.perf_counter() - started)
        raise
    else:
        log.info("exit %d after %.1f s", code, time.perf_counter() - started)
    finally:
        _stop_logging()
    return code


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace,
         log_file: Path | None) -> int:
    """The command, with every failure turned into one line on stderr and the whole story in the log.

    ``--debug`` shows the traceback through the log handler on stderr rather than by re-raising:
    the log's copy is redacted, the interpreter's would print keys and URL credentials as they are.
    """
    try:
        return handler(args) or EXIT_OK
    except UserError as exc:
        log.info("bad input: %s", exc, exc_info=args.debug)
        warn(f"error: {exc}")
        return EXIT_USAGE
    except (RuntimeFailure, OSError) as exc:
        log.warning("failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        warn(f"error: {redact(_os_error_text(exc) if isinstance(exc, OSError) else exc)}")
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        log.info("interrupted")
        warn("interrupted")
        return 130
    except Exception as exc:  # a bug in papercast: one line for the user, the whole story in the log
        log.exception("internal error: %s: %s", type(exc).__name__, exc)
        where = f"; details in {log_file}" if log_file else "; run with --debug for details"
        warn(f"internal error: {type(exc).__name__}: {redact(one_line(exc, 200))}{where}")
        return EXIT_RUNTIME


def _start_logging(args: argparse.Namespace, argv: Sequence[str]) -> Path | None:
    """The log file of this run (None when the home cannot hold one); stderr too with -v/--debug.

    The first line names the command (its arguments only at DEBUG: a chat message is the user's
    own text, not something to keep in a file by default).
    """
    from papercast import logs
    from papercast.config import resolve_home

    try:
        home = resolve_home(args.home)
    except UserError:
        home = None  # the command itself reports the bad --home
    path = logs.configure(home, verbose=bool(getattr(args, "verbose", False)), debug=bool(args.debug))
    log.info("papercast %s: %s (home %s)", __version__, getattr(args, "command", None) or "tui", home)
    log.debug("arguments: %s", " ".join(argv))
    return path


def _stop_logging() -> None:
    """Close this run's handlers (the file is complete on disk, and a later ``main`` in the same
    process — the tests — starts clean)."""
    from papercast import logs

    logs.reset()


def _os_error_text(exc: OSError) -> str:
    """``[Errno 28] No space left on device: 'x'`` as ``x: no space left on device``."""
    what = (exc.strerror or str(exc)).strip()
    return f"{exc.filename}: {what[:1].lower()}{what[1:]}" if exc.filename else what


if __name__ == "__main__":
    raise SystemExit(main())
