"""What the GPU check runs: the full profile (CIFAR-10 recipes, ResNet-34 -> ResNet-18 at batch 256) for one
GPU and the smoke profile (the same recipes with tiny networks) for a CPU in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The repository's recipes folder (the checks run from a source checkout).
RECIPES = Path(__file__).resolve().parents[2] / "recipes"

#: Each distillation method's own CIFAR-10 recipe; methods without one run ``cifar10/dfad.yaml`` with
#: ``method=<name>``.
METHOD_RECIPES = {"onestage": "cifar10/onestage.yaml", "dfad": "cifar10/dfad.yaml", "zskt": "cifar10/zskt.yaml"}
DEFAULT_METHOD_RECIPE = "cifar10/dfad.yaml"

_TINY_DISTILL = (
    "teacher.arch=simple_cnn",
    "teacher.arch_kwargs={width: 4, depth: 2}",
    "student.arch=simple_cnn",
    "student.kwargs={width: 4, depth: 2}",
    "generator.kwargs={nz: 8, ngf: 4}",
    "batch_size=8",
    "student_steps=2",
    "noise_pool=16",
)
_TINY_GAN = ("train.batch_size=8", "model.resolution=8", "model.nz=8", "model.ngf=8", "model.ndf=8")


@dataclass(frozen=True)
class Timing:
    """Interleaved timing blocks (see :func:`dfkd.benchmark.time_interleaved`)."""

    rounds: int
    repeats: int
    warmup: int


@dataclass(frozen=True)
class CheckProfile:
    """``distill_overrides`` go on top of every method's recipe (a random teacher of ``teacher.arch`` stands in
    when the checkpoint is absent); ``gan_overrides`` on top of every ``gan/cifar10`` recipe, whose real images
    are a generated folder of ``gan_images`` random images. ``benchmark_overrides`` give the configuration whose
    images/s, one-stage/DFAD ratio and engine overhead are measured, in each of ``benchmark_precisions``."""

    name: str
    distill_overrides: tuple[str, ...]
    gan_overrides: tuple[str, ...]
    gan_images: int
    warmup_rounds: int
    benchmark_overrides: tuple[str, ...]
    benchmark_precisions: tuple[str, ...]
    timing: Timing
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16")


FULL = CheckProfile(
    name="full",
    distill_overrides=("teacher.arch=cifar_resnet34",),
    gan_overrides=(),
    gan_images=256,
    warmup_rounds=2,  # cuDNN autotuning and allocator growth happen in the first rounds
    benchmark_overrides=("teacher.arch=cifar_resnet34", "student.arch=cifar_resnet18", "batch_size=256"),
    benchmark_precisions=("bf16", "fp32"),
    timing=Timing(rounds=5, repeats=10, warmup=3),
)

SMOKE = CheckProfile(
    name="smoke",
    distill_overrides=_TINY_DISTILL,
    gan_overrides=_TINY_GAN,
    gan_images=20,
    warmup_rounds=0,  # nothing is counted on a CPU: the smoke run only proves every round runs
    benchmark_overrides=_TINY_DISTILL,
    benchmark_precisions=("bf16",),
    timing=Timing(rounds=1, repeats=2, warmup=1),
)


def method_recipe(method: str) -> tuple[str, list[str]]:
    """The recipe path and the overrides that select ``method``."""
    relative = METHOD_RECIPES.get(method, DEFAULT_METHOD_RECIPE)
    return str(RECIPES / relative), [f"method={method}"]


def gan_recipes() -> list[Path]:
    """Every GAN variant on CIFAR-10, one- and two-stage (``recipes/gan/cifar10/*-{one,two}.yaml``)."""
    folder = RECIPES / "gan" / "cifar10"
    return sorted(p for p in folder.glob("*.yaml") if p.stem.endswith(("-one", "-two")))
