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
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", run_tui)
    log_file = _start_logging(args)
    try:
        return handler(args) or EXIT_OK
    except UserError as exc:
        log.info("bad input: %s", exc, exc_info=args.debug)
        if args.debug:
            raise
        warn(f"error: {exc}")
        return EXIT_USAGE
    except (RuntimeFailure, OSError) as exc:
        log.warning("failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        if args.debug:
            raise
        warn(f"error: {_os_error_text(exc) if isinstance(exc, OSError) else exc}")
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        log.info("interrupted")
        warn("interrupted")
        return 130
    except Exception as exc:  # a bug in papercast: one line for the user, the whole story in the log
        log.exception("internal error")
        if args.debug:
            raise
        where = f"; details in {log_file}" if log_file else "; run with --debug for details"
        warn(f"internal error: {type(exc).__name__}: {redact(one_line(exc, 200))}{where}")
        return EXIT_RUNTIME


def _start_logging(args: argparse.Namespace) -> Path | None:
    """The log file of this run (None when the home cannot hold one); stderr too with -v/--debug."""
    from papercast import logs
    from papercast.config import resolve_home

    try:
        home = resolve_home(args.home)
    except UserError:
        home = None  # the command itself reports the bad --home
    path = logs.configure(home, verbose=bool(getattr(args, "verbose", False)), debug=args.debug)
    log.debug("papercast %s: %s", __version__, " ".join(sys.argv[1:]))
    return path


def _os_error_text(exc: OSError) -> str:
    """``[Errno 28] No space left on device: 'x'`` as ``x: no space left on device``."""
    what = (exc.strerror or str(exc)).strip()
    return f"{exc.filename}: {what[:1].lower()}{what[1:]}" if exc.filename else what


if __name__ == "__main__":
    raise SystemExit(main())
