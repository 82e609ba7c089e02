"""``papercast model check``: what the configured model supports, and the settings papercast uses with it.

One probe per capability (plain answer, JSON mode, JSON schema, JSON mode with a schema for local
servers, a tool call, streaming, the embedding model when one is set), each timed; then whether the
cost is known and the resolved policy (local or hosted, concurrency, timeouts, context window, how
JSON is asked for), each value with where it came from. Exit 1 when the model answers nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from papercast.commands._output import EXIT_OK, EXIT_RUNTIME, emit_json, make_service, warn


def register(sub: Any) -> None:
    p = sub.add_parser("model", help="the configured LLM: `model check` probes what it supports")
    actions = p.add_subparsers(dest="model_command", metavar="ACTION", required=True,
                               parser_class=type(p))
    check = actions.add_parser("check", help="probe the model (plain, JSON, schema, tools, streaming, "
                               "embedding) and print the settings papercast will use")
    check.add_argument("--json", action="store_true", help="the probes and settings as JSON")
    check.set_defaults(handler=cmd_check)


def _mark(ok: bool | None) -> str:
    return "yes" if ok else "no" if ok is False else "—"


def cmd_check(args: argparse.Namespace) -> int:
    service = make_service(args)
    report = service.check_model()
    if args.json:
        emit_json(report.to_json())
    else:
        where = f" at {report.api_base}" if report.api_base else ""
        lines = [f"model: {report.model}{where} (provider {report.provider})", ""]
        width = max(len(p.name) for p in report.probes)
        lines.append(f"{'probe':<{width}}  works  seconds  detail")
        for probe in report.probes:
            seconds = f"{probe.seconds:7.2f}" if probe.ok is not None else "      —"
            lines.append(f"{probe.name:<{width}}  {_mark(probe.ok):<5}  {seconds}  {probe.detail}")
        claims = ", ".join(f"{k.replace('_', ' ')}: {_mark(v)}" for k, v in report.litellm_claims.items())
        cost = "known (litellm has a price)" if report.cost_known else "unknown (no price in litellm)"
        lines += ["", f"cost: {cost}",
                  f"litellm's model map says: {claims}", "", "settings papercast uses:"]
        key = max(len(k) for k, _, _ in report.settings)
        val = max(len(v) for _, v, _ in report.settings)
        lines += [f"  {k:<{key}}  {v:<{val}}  {src}" for k, v, src in report.settings]
        print("\n".join(lines))
    if not report.answers:
        warn(f"error: the model {report.model} did not answer any probe")
        return EXIT_RUNTIME
    return EXIT_OK
