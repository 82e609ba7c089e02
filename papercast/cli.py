"""The command line (see the CLI contract in docs/architecture.md).

argparse keeps ``papercast --help`` fast: nothing heavy is imported until a command runs.
Each command group lives in ``papercast/commands/`` and registers itself here. Errors are one
line on stderr: exit 2 for bad input, 1 for runtime failures; ``--debug`` shows the traceback.
Output closed early (``papercast papers list | head -1``) ends quietly with 141, as a Unix tool
killed by SIGPIPE does, and nothing more is written to the closed pipe.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from papercast import __version__, heap, logs
from papercast.commands import COMMAND_MODULES
from papercast.commands._output import (
    EXIT_BROKEN_PIPE,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    ArgumentParser,
    escaped_output,
    run_tui,
    set_quiet,
    warn,
)
from papercast.errors import RuntimeFailure, UserError, one_line, redact

log = logging.getLogger("papercast.cli")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="papercast", description="A research-paper agent for the terminal. "
                            "Without a command, opens the TUI.")
    parser.add_argument("--home", help="data directory (default: $PAPERCAST_HOME or the XDG data dir)")
    parser.add_argument("--model", help="litellm model string (default: $PAPERCAST_MODEL; unset = offline)")
    parser.add_argument("--language", help="language of LLM summaries and digests, e.g. German "
                        "(default: $PAPERCAST_LANGUAGE; offline summaries stay in the paper's language)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="only errors on stderr: no notes or progress")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say what happens, on stderr (INFO log lines)")
    parser.add_argument("--debug", action="store_true", help="DEBUG log lines and tracebacks on stderr")
    parser.add_argument("--version", action="version", version=f"papercast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for module in COMMAND_MODULES:
        module.register(sub)
    _quiet_anywhere(parser)
    parser.set_defaults(root_parser=parser)  # `completion` generates its scripts from it
    return parser


def _quiet_anywhere(parser: argparse.ArgumentParser) -> None:
    """``-q`` after the command too (``import x.jsonl -q``), as a user (or cron line) types it: every
    subcommand accepts it, without a default so that the global one is not reset."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if "-q" not in child._option_string_actions:
                    child.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                                       help="as the global -q: only errors on stderr")
                _quiet_anywhere(child)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    argv = [_text(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # bad usage (one line, exit 2), --help, --version: a code, like every command
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    # Before any thread (glibc fixes its arenas when a second one allocates), after --help: not its ~5 ms.
    heap.limit_arenas()
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", run_tui)
    set_quiet(bool(getattr(args, "quiet", False)))
    log_file = _start_logging(args, argv)
    started = time.perf_counter()
    try:
        code = _run(handler, args, log_file)
        if code != EXIT_BROKEN_PIPE:
            code = _flush_stdout(code)
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
        with escaped_output():  # control characters in what a command prints are escaped (second defence)
            return handler(args) or EXIT_OK
    except BrokenPipeError:
        return _closed_early()
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


def _closed_early() -> int:
    """The reader of stdout went away (``| head``): point stdout at /dev/null so nothing else (the
    interpreter's final flush included) fails writing to it, and end quietly like a Unix tool."""
    log.info("stdout was closed early (broken pipe)")
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to redirect
        pass
    return EXIT_BROKEN_PIPE


def _flush_stdout(code: int) -> int:
    """Flush what the command printed while we can still tell a closed pipe from a failure."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _closed_early()
    except (OSError, ValueError):
        pass
    return code


def _text(arg: str) -> str:
    """An argument as valid text: bytes that are not UTF-8 (Python keeps them as lone surrogates, which
    the tokenizer, SQLite and the terminal all refuse) become U+FFFD, as a UTF-8 decoder would make them."""
    return arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _loggable(argv: Sequence[str]) -> str:
    """The command line for the DEBUG log, without the webhook URLs it may hold (they are secrets)."""
    out: list[str] = []
    hide = False
    for arg in argv:
        if hide:
            out.append("***")
            hide = False
        elif arg == "--webhook":
            out.append(arg)
            hide = True
        elif arg.startswith("--webhook="):
            out.append("--webhook=***")
        else:
            out.append(arg)
    return " ".join(out)


def _start_logging(args: argparse.Namespace, argv: Sequence[str]) -> Path | None:
    """The log file of this run (None when the home cannot hold one); stderr too with -v/--debug.

    The first line names the command (its arguments only at DEBUG: a chat message is the user's
    own text, not something to keep in a file by default).
    """
    from papercast.config import resolve_home  # lazy: pydantic-settings (~100 ms) stays off --help

    try:
        home = resolve_home(args.home)
    except UserError:
        home = None  # the command itself reports the bad --home
    path = logs.configure(home, verbose=bool(getattr(args, "verbose", False)), debug=bool(args.debug))
    log.info("papercast %s: %s (home %s)", __version__, getattr(args, "command", None) or "tui", home)
    log.debug("arguments: %s", _loggable(argv))
    return path


def _stop_logging() -> None:
    """Close this run's handlers (the file is complete on disk, and a later ``main`` in the same
    process — the tests — starts clean)."""
    logs.reset()


def _os_error_text(exc: OSError) -> str:
    """``[Errno 28] No space left on device: 'x'`` as ``x: no space left on device``."""
    what = (exc.strerror or str(exc)).strip()
    return f"{exc.filename}: {what[:1].lower()}{what[1:]}" if exc.filename else what


if __name__ == "__main__":
    raise SystemExit(main())
