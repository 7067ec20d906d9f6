"""The GPU check's plan and report: every method and GAN variant in every precision; problems and markdown."""

from __future__ import annotations

from pathlib import Path

from dfkd.distill.methods import METHODS
from dfkd.gpu.cases import round_cases
from dfkd.gpu.check import problems
from dfkd.gpu.profiles import FULL, SMOKE, gan_recipes
from dfkd.gpu.report import render_report


def test_every_method_and_gan_variant_in_every_precision(tmp_path: Path) -> None:
    variants = gan_recipes()
    assert len(variants) >= 20 and {p.stem.rsplit("-", 1)[1] for p in variants} == {"one", "two"}
    for profile in (FULL, SMOKE):
        cases = round_cases(profile, tmp_path)
        assert {(c.kind, c.name, c.precision) for c in cases} == {
            *(("distill", m, p) for m in METHODS.names() for p in ("fp32", "bf16", "fp16")),
            *(("gan", r.stem, p) for r in variants for p in ("fp32", "bf16", "fp16")),
        }


def _results() -> dict:
    return {
        "profile": "full",
        "environment": {"device": "cuda:0", "device_name": "GPU", "device_count": 1, "torch": "2", "python": "3"},
        "settings": {"precision": "fp32", "tf32": True},
        "precisions": ["fp32", "bf16"],
        "rounds": [
            {"kind": "distill", "case": "onestage", "precision": "fp32", "syncs": 0, "sites": {}},
            {"kind": "distill", "case": "onestage", "precision": "bf16", "syncs": 3, "sites": {"dfkd/x.py:7": 3}},
            {"kind": "gan", "case": "lsgan-one", "precision": "fp32", "error": "RuntimeError: boom", "where": "y.py:1"},
        ],
        "throughput": [{"label": "bf16", "methods": {"onestage": {"images_per_s": 2000.0, "engine_overhead": 0.125},
                                                      "dfad": {"images_per_s": 1000.0, "engine_overhead": None}},
                        "onestage_over_dfad": 2.0, "predicted_onestage_over_dfad": 1.5}],
        "two_process": {"ran": False, "reason": "1 GPU(s) on this machine; the check needs 2"},
        "skipped": ["throughput fp32"],
        "wall_s": 12.0,
    }  # fmt: skip


def test_problems_name_errors_syncs_and_skipped_parts() -> None:
    found = problems(_results())
    assert found == [
        "distill onestage bf16: 3 host synchronisation(s) in a steady-state round",
        "gan lsgan-one fp32: RuntimeError: boom (y.py:1)",
        "throughput fp32: skipped (time limit)",
    ]


def test_report_shows_the_tables() -> None:
    results = _results()
    results["problems"] = problems(results)
    report = render_report(results)
    assert "**3 problem(s)**" in report
    assert "| distill | onestage | 0 | 3 |" in report and "| gan | lsgan-one | error |  |" in report
    assert "- `dfkd/x.py:7`: 3" in report
    assert "| bf16 | 2000 | 1000 | 2.000 | 1.500 | +12.5% | - |" in report
    assert "not run: 1 GPU(s) on this machine; the check needs 2." in report
