"""What every command shares: exit codes, JSON and warnings on the right stream, progress, the service.

Results go to stdout (so scripts can pipe them); notices, warnings and errors go to stderr, one
line each. Commands import this module, never ``papercast.cli`` (which imports the commands).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from papercast.service import Papercast

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


def make_service(args: argparse.Namespace) -> Papercast:
    """The service for this invocation, with CLI flags as the highest-priority settings."""
    from papercast.config import load_settings
    from papercast.service import Papercast

    overrides = {"model": getattr(args, "model", None)}
    return Papercast(load_settings(home=args.home, **overrides))


def make_service_with_papers(args: argparse.Namespace) -> Papercast:
    """The service, with the bundled sample loaded (and said so) when the store is empty."""
    service = make_service(args)
    loaded = service.ensure_sample()
    if loaded:
        model = service.settings.embedding
        embedded = f" (embedded with {model})" if model else ""
        warn(f"empty store: loaded the bundled sample of {loaded} papers{embedded}")
    return service


def run_tui(args: argparse.Namespace) -> int:
    from papercast.tui.app import run_app

    return run_app(make_service(args), **getattr(args, "tui_options", {}))
