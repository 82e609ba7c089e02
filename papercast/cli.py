"""The command line (see the CLI contract in DESIGN.md).

argparse keeps ``papercast --help`` fast: nothing heavy is imported until a command runs.
Each command group lives in ``papercast/commands/`` and registers itself here. Errors are one
line on stderr: exit 2 for bad input, 1 for runtime failures; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from papercast.errors import RuntimeFailure, UserError

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other bad input."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        sys.stderr.write(f"papercast: error: {message} (see --help)\n")
        raise SystemExit(EXIT_USAGE)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def warn(message: str) -> None:
    sys.stderr.write(f"papercast: {message}\n")


class ProgressLine:
    """``done/total, rate, ETA`` on one rewritten stderr line when it is a terminal; silent when piped."""

    def __init__(self, label: str, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
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


def make_service(args: argparse.Namespace) -> Any:
    """The service for this invocation, with CLI flags as the highest-priority settings."""
    from papercast.config import load_settings
    from papercast.service import Papercast

    overrides = {"model": getattr(args, "model", None)}
    return Papercast(load_settings(home=args.home, **overrides))


def make_service_with_papers(args: argparse.Namespace) -> Any:
    """The service, with the bundled sample loaded (and said so) when the store is empty."""
    app = make_service(args)
    loaded = app.ensure_sample()
    if loaded:
        model = app.settings.embedding
        embedded = f" (embedded with {model})" if model else ""
        warn(f"empty store: loaded the bundled sample of {loaded} papers{embedded}")
    return app


def build_parser() -> ArgumentParser:
    from papercast.commands import COMMAND_MODULES

    parser = ArgumentParser(prog="papercast", description="A research-paper agent for the terminal. "
                            "Without a command, opens the TUI.")
    parser.add_argument("--home", help="data directory (default: $PAPERCAST_HOME or the XDG data dir)")
    parser.add_argument("--model", help="litellm model string (default: $PAPERCAST_MODEL; unset = offline)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def run_tui(args: argparse.Namespace) -> int:
    from papercast.tui.app import run_app

    return run_app(make_service(args), **getattr(args, "tui_options", {}))


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", run_tui)
    try:
        return handler(args) or EXIT_OK
    except UserError as exc:
        if args.debug:
            raise
        warn(f"error: {exc}")
        return EXIT_USAGE
    except (RuntimeFailure, OSError) as exc:
        if args.debug:
            raise
        warn(f"error: {exc}")
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        warn("interrupted")
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if args.debug:
            raise
        from papercast.config import ConfigError

        if isinstance(exc, ConfigError):
            warn(f"error: {exc}")
            return EXIT_USAGE
        warn(f"error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return EXIT_RUNTIME


if __name__ == "__main__":
    raise SystemExit(main())
