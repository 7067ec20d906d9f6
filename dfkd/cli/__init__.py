"""``dfkd`` command line: parses arguments and calls the library. One module per subcommand."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence

# subcommand -> module defining ``configure(parser)`` and ``run(args) -> int``
COMMANDS: dict[str, str] = {
    "distill": "dfkd.cli.distill",
    "train-teacher": "dfkd.cli.train_teacher",
    "eval": "dfkd.cli.eval",
    "audit": "dfkd.cli.audit",
    "gan": "dfkd.cli.gan",
    "sample": "dfkd.cli.sample",
    "bench": "dfkd.cli.bench",
}
# subcommands that join a torchrun process group (WORLD_SIZE > 1) and train with DistributedDataParallel
DISTRIBUTED_COMMANDS = frozenset({"distill", "gan", "train-teacher"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfkd", description="Data-free knowledge distillation and GANs with one-stage adversarial training."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message tells the user what to fix: printed without a traceback."""
    from dfkd.config.load import RecipeError
    from dfkd.data.errors import DataNotFoundError
    from dfkd.engine import CouplingError, NonFiniteError
    from dfkd.runs.checkpoint import CheckpointError
    from dfkd.runs.session import SessionError
    from dfkd.teachers.load import TeacherLoadError

    return (RecipeError, DataNotFoundError, TeacherLoadError, CheckpointError, SessionError, CouplingError, NonFiniteError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from dfkd.distributed import process_group_from_env

    group = process_group_from_env() if args.command in DISTRIBUTED_COMMANDS else contextlib.nullcontext()
    try:
        with group:
            return int(args._run(args) or 0)
    except _user_errors() as err:
        print(f"dfkd {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dfkd {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
