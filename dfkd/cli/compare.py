"""Compare distillation methods (or recipes) under one budget, over several seeds, with the same teacher.

`dfkd compare [RECIPE ...] [--methods onestage,dfad] [--seeds 0,1,2] (--budget-seconds N | --budget-rounds N)
[--name NAME] [--root DIR] [--reference CONTENDER] [key=value ...]` runs every contender x seed as a normal
`dfkd distill` run in <root>/<name>/<contender>-seed<seed>/ (seeds interleaved across contenders), then writes
results.json, table.md, accuracy_vs_time.png and accuracy_vs_images.png there. Without a recipe: the quick-start.
Rerunning the same command resumes an interrupted comparison and re-reads finished runs instead of repeating
them; so does rerunning it with another --reference, which changes only the summary.
"""

from __future__ import annotations

import argparse
import sys

HELP = "compare methods or recipes under one budget over seeds: results.json, table.md, plots"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "items",
        nargs="*",
        metavar="[RECIPE ...] [key=value ...]",
        help="recipes (default: the quick-start), then overrides applied to every run",
    )
    parser.add_argument(
        "--methods",
        metavar="M1,M2",
        help="methods to run each recipe with (default with one recipe: onestage,dfad; with "
        "several recipes: each recipe's own method)",
    )
    parser.add_argument("--seeds", default="0,1,2", metavar="S1,S2", help="run.seed values (default 0,1,2)")
    parser.add_argument(
        "--budget-seconds",
        metavar="N",
        help="training seconds per run (logging.max_wall_s); this or --budget-rounds is required",
    )
    parser.add_argument(
        "--budget-rounds", metavar="N", help="rounds per run (steps): the same work for every run, whatever the load"
    )
    parser.add_argument("--name", help="the comparison's directory name (default: from the recipe names)")
    parser.add_argument("--root", default="compare", metavar="DIR", help="parent of <name> (default: compare)")
    parser.add_argument(
        "--reference",
        metavar="CONTENDER",
        help="report every contender's time to this contender's final accuracy (a label as in results.json, "
        "e.g. dfad; default: the best mean last accuracy); changes only the summary, never the runs",
    )
    _accept_items_after_options(parser)


def _accept_items_after_options(parser: argparse.ArgumentParser) -> None:
    """argparse fills a ``nargs="*"`` positional from its first run of words only, so ``--seeds 0 steps=9``
    would leave ``steps=9`` unrecognised; this parser adds such later words to ``items`` (options stay checked)."""
    parse_known = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):  # type: ignore[no-untyped-def]
        namespace, extras = parse_known(args, namespace)
        namespace.items = [*namespace.items, *(e for e in extras if not e.startswith("-"))]
        return namespace, [e for e in extras if e.startswith("-")]

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> int:
    from dfkd.compare import CompareError, CompareSpec, parse_budget, parse_seeds, run_compare

    recipes = tuple(item for item in args.items if "=" not in item)
    overrides = tuple(item for item in args.items if "=" in item)
    try:
        if args.methods is not None:
            methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        else:
            methods = ("onestage", "dfad") if len(recipes) <= 1 else ()
        spec = CompareSpec(
            budget=parse_budget(args.budget_seconds, args.budget_rounds),
            recipes=recipes,
            methods=methods,
            seeds=parse_seeds(args.seeds),
            name=args.name,
            root=args.root,
            overrides=overrides,
            reference=args.reference,
        )
        results = run_compare(spec)
    except CompareError as err:
        print(f"dfkd compare: error: {err}", file=sys.stderr)
        return 2
    directory = spec.directory
    print()
    print((directory / "table.md").read_text(encoding="utf-8"))
    print(
        f"results: {directory / 'results.json'}, plots: {directory / 'accuracy_vs_time.png'}, "
        f"{directory / 'accuracy_vs_images.png'}"
    )
    print(f"curves of all {sum(len(c['seeds']) for c in results['contenders'])} runs: tensorboard --logdir {directory}")
    return 0
