"""``papercast completion bash|zsh``: shell completion generated from the argparse parser with shtab.

Generated, not written by hand, so every command and option added to the parser completes without
anyone remembering to update a script. The parser is built by ``papercast.cli``, which imports the
command modules (so they never import it): it hands itself over as ``args.root_parser``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from papercast.commands._output import EXIT_OK

SHELLS = ("bash", "zsh")


def register(sub: Any) -> None:
    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)",
                       description="Install: papercast completion bash > "
                       "~/.local/share/bash-completion/completions/papercast, "
                       "or papercast completion zsh > \"${fpath[1]}/_papercast\".")
    p.add_argument("shell", choices=SHELLS, help="bash or zsh")
    p.set_defaults(handler=cmd_completion)


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    import shtab  # lazy: only `completion` needs it

    return str(shtab.complete(parser, shell=shell))


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.root_parser, args.shell).rstrip("\n") + "\n")
    return EXIT_OK
