"""The GPU check's results as markdown (``report.md`` beside ``results.json``)."""

from __future__ import annotations

from typing import Any

_SHOWN_ELSEWHERE = ("device", "device_name", "torch")


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    if "error" in row:
        return "error"
    return "n/a" if row["syncs"] is None else str(row["syncs"])


def _rounds(rows: list[dict[str, Any]], precisions: list[str]) -> list[str]:
    table: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in rows:
        table.setdefault((row["kind"], row["case"]), {})[row["precision"]] = row
    lines = [
        "## Host synchronisations in one steady-state round",
        "",
        '`torch.cuda.set_sync_debug_mode("warn")` around one round after the warm-up rounds (n/a: not a GPU).',
        "",
        "| kind | case | " + " | ".join(precisions) + " |",
        "|---|---|" + "---:|" * len(precisions),
    ]
    lines += [f"| {kind} | {case} | " + " | ".join(_cell(by.get(p)) for p in precisions) + " |"
              for (kind, case), by in table.items()]  # fmt: skip
    sites: dict[str, int] = {}
    for row in rows:
        for site, count in row.get("sites", {}).items():
            sites[site] = sites.get(site, 0) + count
    if sites:
        lines += ["", "Synchronising source lines (all rounds together):", ""]
        lines += [f"- `{site}`: {count}" for site, count in sorted(sites.items(), key=lambda kv: -kv[1])[:20]]
    errors = [row for row in rows if "error" in row]
    if errors:
        lines += ["", "Errors:", ""]
        lines += [f"- {r['kind']} {r['case']} {r['precision']}: `{r['error']}` ({r.get('where', '?')})" for r in errors]
    return lines


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _overhead(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def _throughput(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Throughput: one-stage vs DFAD",
        "",
        (
            "`dfkd bench distill`: rounds timed side by side; predicted: from the measured cost of each network pass; "
            "engine overhead: against a minimal hand-written loop on the same networks, in the same precision."
        ),
        "",
        (
            "| setting | onestage images/s | dfad images/s | onestage / dfad | predicted | onestage engine overhead "
            "| dfad engine overhead |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row.get('label', '?')} | error: `{row['error']}` | | | | | |")
            continue
        onestage, dfad = row["methods"]["onestage"], row["methods"]["dfad"]
        lines.append(
            f"| {row['label']} | {onestage['images_per_s']:.0f} | {dfad['images_per_s']:.0f} | "
            f"{row['onestage_over_dfad']:.3f} | {_ratio(row.get('predicted_onestage_over_dfad'))} | "
            f"{_overhead(onestage.get('engine_overhead'))} | {_overhead(dfad.get('engine_overhead'))} |"
        )
    return lines


def _two_process(row: dict[str, Any]) -> list[str]:
    lines = ["## Two processes (DistributedDataParallel)", ""]
    if "error" in row:
        return [*lines, f"error: `{row['error']}`"]
    if not row["ran"]:
        return [*lines, f"not run: {row['reason']}."]
    lines += [f"{row['backend']}: {'passed' if row['passed'] else 'FAILED'}", "",
              "| case | relative deviation from one process | ranks identical |", "|---|---:|---|"]  # fmt: skip
    lines += [f"| {name} | {case['relative_deviation']:.2e} | {case['ranks_identical']} |"
              for name, case in row["cases"].items()]  # fmt: skip
    return lines


def render_report(results: dict[str, Any]) -> str:
    env, settings = results["environment"], results["settings"]
    problems = results.get("problems", [])
    lines = [
        f"# dfkd GPU check ({results['profile']} profile)",
        "",
        f"{env['device_name']} ({env['device']}, {env['device_count']} device(s)), torch {env['torch']}, "
        f"Python {env['python']}; {results.get('wall_s', 0):.0f} s.",
        "",
        f"**{f'{len(problems)} problem(s)' if problems else 'PASSED'}**",
        "",
        "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items() if k not in _SHOWN_ELSEWHERE),
        "",
    ]
    if "rounds" in results:
        lines += [*_rounds(results["rounds"], results["precisions"]), ""]
    if "throughput" in results:
        lines += [*_throughput(results["throughput"]), ""]
    if "two_process" in results:
        lines += [*_two_process(results["two_process"]), ""]
    if problems:
        lines += ["## Problems", "", *[f"- {p}" for p in problems], ""]
    return "\n".join(lines)
