"""``dfkd`` command line: parses arguments and calls the library. One module per subcommand.

A user's mistake -- a bad argument, recipe value or path, a missing file, a full or read-only disk -- is one
line on stderr (``dfkd <command>: error: ...``) and exit status 2; :mod:`dfkd.cli._errors` decides which
exceptions are such mistakes. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from dfkd.cli._errors import exit_code_reporting_user_errors

# subcommand -> module defining ``configure(parser)`` and ``run(args) -> int``
COMMANDS: dict[str, str] = {
    "distill": "dfkd.cli.distill",
    "train-teacher": "dfkd.cli.train_teacher",
    "eval": "dfkd.cli.eval",
    "audit": "dfkd.cli.audit",
    "gan": "dfkd.cli.gan",
    "sample": "dfkd.cli.sample",
    "bench": "dfkd.cli.bench",
    "compare": "dfkd.cli.compare",
}
# subcommands that join a torchrun process group (WORLD_SIZE > 1) and train with DistributedDataParallel
DISTRIBUTED_COMMANDS = frozenset({"distill", "gan", "train-teacher"})


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block): ``dfkd audit: error: argument ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dfkd", description="Data-free knowledge distillation and GANs with one-stage adversarial training."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. A user error (see :mod:`dfkd.cli._errors`) is one line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from dfkd.distributed import process_group_from_env

    group = process_group_from_env() if args.command in DISTRIBUTED_COMMANDS else contextlib.nullcontext()

    def run() -> int:
        with group:
            return int(args._run(args) or 0)

    try:
        return exit_code_reporting_user_errors(f"dfkd {args.command}", run)
    except KeyboardInterrupt:
        print(f"dfkd {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
