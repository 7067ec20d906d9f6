"""Recipe validation of the real schemas: every number finite and in range, names known, conflicts refused --
each as one line naming the source, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfkd.config.load import RecipeError, load_recipe
from dfkd.config.sections import OptimizerSection, RunSection
from dfkd.config.types import INT64_MAX
from dfkd.distill.config import MIN_TEMPERATURE, DistillRecipe
from dfkd.gan.config import GanRecipe
from dfkd.teachers.config import TeacherRecipe

REQUIRED = ["teacher.checkpoint=t.pt", "student.arch=simple_cnn"]


def distill_error(*overrides: str) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(DistillRecipe, None, [*REQUIRED, *overrides])
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        # NaN / inf wherever a number is read
        ("student.optimizer.lr=.inf", "student.optimizer.lr", "a finite number"),
        ("student.optimizer.momentum=.nan", "student.optimizer.momentum", "a finite number"),
        ("optim.student_clip_norm=.nan", "optim.student_clip_norm", "a finite number"),
        ("optim.lr_schedule.gamma=.nan", "optim.lr_schedule.gamma", "a finite number"),
        ("generator.optimizer.betas=[.nan, 0.9]", "generator.optimizer.betas[0]", "a finite number"),
        ("loss.priors.bn=.inf", "loss.priors.bn", "a finite number"),
        ("teacher.mean=[0.5, -.inf, 0.5]", "teacher.mean[1]", "a finite number"),
        ("logging.max_wall_s=.inf", "logging.max_wall_s", "a finite number"),
        # signs and ranges
        ("student.optimizer.lr=-0.1", "student.optimizer.lr", "a number > 0"),
        ("student.optimizer.lr=0", "student.optimizer.lr", "a number > 0"),
        ("student.optimizer.weight_decay=-1", "student.optimizer.weight_decay", "a number >= 0"),
        ("optim.generator_clip_norm=0", "optim.generator_clip_norm", "a number > 0"),
        ("optim.lr_schedule.milestones=[100, 0]", "optim.lr_schedule.milestones[1]", "an integer >= 1"),
        ("optim.lr_schedule.gamma=0", "optim.lr_schedule.gamma", "a number > 0"),
        ("student.optimizer.betas=[2, 2]", "student.optimizer.betas[0]", "a number < 1"),
        ("student.optimizer.betas=[0.9, 1]", "student.optimizer.betas[1]", "a number < 1"),
        ("student.optimizer.momentum=-0.5", "student.optimizer.momentum", "a number >= 0"),
        ("loss.priors.balance=-5", "loss.priors.balance", "a number >= 0"),
        ("loss.attention_beta=-1", "loss.attention_beta", "a number >= 0"),
        ("loss.temperature=0", "loss.temperature", f"a number >= {MIN_TEMPERATURE:g}"),
        ("loss.temperature=1e-6", "loss.temperature", f"a number >= {MIN_TEMPERATURE:g}"),
        ("logging.max_wall_s=-1", "logging.max_wall_s", "a number > 0"),
        ("teacher.std=[0.2, 0, 0.2]", "teacher.std[1]", "a number > 0"),
        ("data.max_items=0", "data.max_items", "an integer >= 1"),
        ("steps=0", "steps", "an integer >= 1"),
        ("run.threads=-1", "run.threads", "an integer >= 0"),
        ("run.seed=-1", "run.seed", "an integer >= 0"),
        ("run.seed=1180591620717411303424", "run.seed", "fits in 64 bits"),  # 2**70
        ("steps=1e300", "steps", "expected an integer"),
        ("steps=.nan", "steps", "expected an integer, got nan"),
        # a bool is not an integer (nor a number)
        ("steps=true", "steps", "expected an integer, got True"),
        ("batch_size=false", "batch_size", "expected an integer, got False"),
        ("student.optimizer.lr=true", "student.optimizer.lr", "expected a number, got True"),
        ("steps=2.5", "steps", "expected an integer"),
        # names checked against their registries
        ("data.name=imagenet", "data.name", "one of cifar10, cifar100"),
        ("student.arch=simple_cn", "student.arch", "did you mean 'simple_cnn'"),
        ("generator.arch=no_such_net", "generator.arch", "a dfkd model (cifar_resnet18"),
        ("loss.objective=minimax", "loss.objective", "one of adversarial, log_adversarial"),
        ("run.device=gpu", "run.device", "auto, cpu, cuda"),
        ("run.name=a/b", "run.name", "a plain directory name"),
        # model keyword arguments of the wrong type (checked against the constructor's annotations)
        ("student.kwargs.width=abc", "student.kwargs.width", "an integer (simple_cnn's 'width')"),
        ("student.kwargs.depth=true", "student.kwargs.depth", "an integer (simple_cnn's 'depth')"),
        ("generator.kwargs.nz=2.5", "generator.kwargs.nz", "an integer (dfad_generator's 'nz')"),
        ("student.kwargs.num_classes=3", "student.kwargs.num_classes", "num_classes from the teacher"),
    ],
)
def test_bad_values_are_refused_naming_the_key(override: str, key: str, expected: str) -> None:
    message = distill_error(override)
    assert message.startswith(f"<command line>: override '{override}': key '{key}': expected ")
    assert expected in message


def test_a_file_value_names_the_file(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("teacher: {checkpoint: t.pt}\nstudent:\n  arch: simple_cnn\n  optimizer: {lr: .nan}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(DistillRecipe, recipe)
    expected = "key 'student.optimizer.lr': expected a finite number (not .nan or .inf), got nan"
    assert str(info.value) == f"{recipe}: {expected}"


def test_several_problems_are_one_line() -> None:
    message = distill_error("student.optimizer.betas=[2, 2]")
    assert message.count("key 'student.optimizer.betas[") == 2 and "; " in message


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["loss.attention_beta=250"], "method=onestage cannot use loss.attention_beta=250"),
        (["loss.objective=log_adversarial", "loss.priors.bn=1"], "asymmetric loss.objective=log_adversarial"),
        (["loss.objective=log_adversarial", "loss.priors={balance: 2, confidence: 1}"], "prior(s) balance, confidence"),
        (
            ["student.optimizer.name=sgd", "student.optimizer.momentum=0", "student.optimizer.nesterov=true"],
            "key 'student.optimizer.nesterov': expected false when momentum is 0",
        ),
    ],
)
def test_conflicting_keys_are_refused(overrides: list[str], fragment: str) -> None:
    assert fragment in distill_error(*overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        ["method=zskt", "loss.attention_beta=250"],  # two-stage student steps may use attention transfer
        ["method=dfad", "loss.objective=log_adversarial", "loss.priors.bn=1"],
        ["loss.objective=log_adversarial", "loss.priors.tv=0.1"],  # an image prior joins any objective
        ["loss.objective=log_adversarial", "loss.priors.bn=0"],  # a zero weight is no prior
        ["steps=3e3", "loss.discrepancy=kl", f"loss.temperature={MIN_TEMPERATURE}", "run.seed=9223372036854775807"],
        ["data.name=./my-folder", "run.device=cuda:1", "teacher.arch=my_pkg.nets:build", "student.arch=resnet18"],
        ["student.kwargs={width: '8', depth: 2}"],  # lax: an integer written as a string
    ],
)
def test_valid_combinations_pass(overrides: list[str]) -> None:
    recipe = load_recipe(DistillRecipe, None, [*REQUIRED, *overrides])
    assert recipe.run.seed <= INT64_MAX


def test_unknown_prior_is_named() -> None:
    assert "unknown generator prior 'bogus'" in distill_error("loss.priors.bogus=1")


def test_shared_sections_refuse_bad_values_directly() -> None:
    with pytest.raises(ValueError, match="finite"):
        OptimizerSection(lr=float("nan"))
    with pytest.raises(ValueError, match="integer"):
        RunSection(seed=True)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("loss.params={rho: .nan}", "key 'loss.params.rho': expected a finite number"),
        ("loss.penalty_weight=-1", "key 'loss.penalty_weight': expected a number >= 0"),
        ("optim.critic.betas=[0.5, 1.5]", "key 'optim.critic.betas[1]': expected a number < 1"),
        ("train.steps=true", "key 'train.steps': expected an integer"),
        ("data.max_items=1", "key 'data.max_items': expected an integer >= 2"),
        ("data.name=cifar11", "key 'data.name': expected one of"),
        ("logging.max_wall_s=-1", "key 'logging.max_wall_s': expected a number > 0"),
        ("fid.kid_subsets=.inf", "key 'fid.kid_subsets': expected an integer"),
    ],
)
def test_gan_recipe_values(override: str, fragment: str) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(GanRecipe, None, [override])
    assert fragment in str(info.value)


def test_gan_one_stage_coupling_error_is_refused_at_validation() -> None:
    bad = ["loss.name=hinge", "model.norm=bn", "engine.coupling=error", "train.stage=one"]
    with pytest.raises(RecipeError, match="engine.coupling=error refuses train.stage=one with the asymmetric"):
        load_recipe(GanRecipe, None, bad)
    for fix in ("model.norm=gn", "train.stage=two", "engine.coupling=warn", "loss.name=wgan"):
        load_recipe(GanRecipe, None, [*bad, fix])


def test_teacher_recipe_values() -> None:
    base = ["output=t.pt"]
    for override, fragment in [
        ("model.arch=resnet_nope", "key 'model.arch'"),
        ("model.kwargs.width=wide", "key 'model.kwargs.width': expected an integer"),
        ("train.optimizer.lr=.nan", "key 'train.optimizer.lr': expected a finite number"),
        ("data.max_train_items=0", "key 'data.max_train_items': expected an integer >= 1"),
    ]:
        with pytest.raises(RecipeError) as info:
            load_recipe(TeacherRecipe, None, [*base, "model.arch=simple_cnn", override])
        assert fragment in str(info.value), override


def test_model_keyword_arguments_are_checked_against_the_constructor() -> None:
    message = distill_error("student.kwargs.widht=8")
    assert message == (
        "<command line>: override 'student.kwargs.widht=8': unknown key 'student.kwargs.widht' (simple_cnn takes "
        "num_classes, in_chans, width, depth, convs_per_stage; did you mean 'width'?)"
    )
    assert "expected a finite number" in distill_error("generator.arch=dcgan_generator", "generator.kwargs.nz=.nan")
    assert "key 'teacher.arch_kwargs.depth'" in distill_error("teacher.arch=simple_cnn", "teacher.arch_kwargs.depth=x")
    # a timm model's keyword arguments and a user callable's are theirs to judge when the model is built
    load_recipe(DistillRecipe, None, [*REQUIRED, "student.arch=resnet18", "student.kwargs.drop_rate=0.1"])
    load_recipe(DistillRecipe, None, [*REQUIRED, "teacher.arch=pkg.mod:build", "teacher.arch_kwargs.anything=x"])
