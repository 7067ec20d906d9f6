"""`dfkd gan` end to end on tiny data: bit-exact resume, FID/KID with a swapped extractor and its cache, the
errors for absent data and missing Inception weights, and `dfkd sample`."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
import torch
from PIL import Image

from dfkd.cli import main
from dfkd.data.errors import DataNotFoundError
from dfkd.gan.job import GanSetupError, run_gan
from dfkd.metrics import ExtractorWeightsError
from dfkd.metrics.inception import INCEPTION_FILE, INCEPTION_URL
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.runs.session import WALL_CLOCK_KEYS
from tests.gan.helpers import recipe_path, tiny_overrides

FID_ON = ["fid.enabled=true", "fid.extractor=pixels:4", "fid.num_samples=32", "fid.num_real=40", "fid.every=2",
          "fid.kid_subsets=5", "fid.kid_subset_size=16", "fid.batch_size=16"]  # fmt: skip


def _flat(state: object, prefix: str = "") -> dict[str, object]:
    if isinstance(state, dict):
        out: dict[str, object] = {}
        for key, value in state.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    if isinstance(state, (list, tuple)):
        return _flat(dict(enumerate(state)), prefix)
    return {prefix: state}


def _assert_identical(a: object, b: object) -> None:
    flat_a, flat_b = _flat(a), _flat(b)
    assert flat_a.keys() == flat_b.keys()
    for key, value in flat_a.items():
        other = flat_b[key]
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, other), key  # type: ignore[arg-type]
        else:
            assert value == other or (value != value and other != other), key  # NaN == NaN here


def _rows(run_dir: Path) -> list[dict[str, float]]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_KEYS} for row in rows]


RESUMED = [("lsgan", "one"), ("fishergan", "two"), ("wgan-gp", "one"), ("cgan", "two")]


@pytest.mark.parametrize(("variant", "stage"), RESUMED)
def test_resume_is_bit_exact(variant: str, stage: str, blob_folder: Path, tmp_path: Path) -> None:
    cache = f"fid.cache_dir={tmp_path}/cache"
    common = tiny_overrides(blob_folder, f"run.root={tmp_path}", "logging.log_every=2", *FID_ON, cache)
    path = str(recipe_path(variant, stage))
    full = run_gan(path, [*common, "train.steps=6", "run.name=full"])
    run_gan(path, [*common, "train.steps=3", "run.name=parts"])
    parts = run_gan(None, ["train.steps=6"], resume=str(tmp_path / "parts"))
    assert parts["steps"] == full["steps"] == 6
    last_full = load_checkpoint(tmp_path / "full" / "checkpoints" / "last.pt")
    last_parts = load_checkpoint(tmp_path / "parts" / "checkpoints" / "last.pt")
    _assert_identical(last_full["game"], last_parts["game"])
    _assert_identical(last_full["rng"], last_parts["rng"])
    rows_full, rows_parts = _rows(tmp_path / "full"), _rows(tmp_path / "parts")
    steps = {row["step"] for row in rows_full}  # the interrupted session also logged its last step, 3
    assert rows_full == [row for row in rows_parts if row["step"] in steps]
    assert parts["fid"] == full["fid"] and parts["kid"] == full["kid"]


def test_fid_kid_in_summary_best_checkpoint_and_cache(blob_folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    overrides = tiny_overrides(blob_folder, f"run.root={tmp_path}", "train.steps=4", *FID_ON, f"fid.cache_dir={cache}")
    summary = run_gan(str(recipe_path("dcgan-sym", "one")), [*overrides, "run.name=a"])
    for key in ("loss", "stage", "steps", "wall_s", "images_per_s", "fid", "kid", "fid_best", "kid_std"):
        assert key in summary, key
    assert summary["loss"] == "minimax" and summary["fid_comparable"] is False
    on_disk = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert on_disk["fid"] == summary["fid"] and on_disk["stage"] == "one"
    assert (tmp_path / "a" / "checkpoints" / "best.pt").is_file()
    assert sorted((tmp_path / "a" / "images").glob("samples_*.png"))
    cached = list(cache.glob("*.pt"))
    assert len(cached) == 1 and "pixels4" in cached[0].name and "16px" in cached[0].name
    stamp = cached[0].stat().st_mtime_ns
    again = run_gan(str(recipe_path("dcgan-sym", "one")), [*overrides, "run.name=b"])
    assert cached[0].stat().st_mtime_ns == stamp  # reused, not rewritten
    assert again["fid"] == summary["fid"]


def test_missing_inception_weights_stop_before_training(blob_folder: Path, tmp_path: Path) -> None:
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))  # an empty hub cache
    try:
        with pytest.raises(ExtractorWeightsError) as info:
            run_gan(
                str(recipe_path("lsgan", "one")),
                tiny_overrides(blob_folder, f"run.root={tmp_path}", "fid.enabled=true", "fid.extractor=inception"),
            )
    finally:
        torch.hub.set_dir(hub)
    message = str(info.value)
    hub_file = str(tmp_path / "hub" / "checkpoints" / INCEPTION_FILE)
    for needle in (INCEPTION_URL, hub_file, "fid.weights=PATH", "fid.enabled=false"):
        assert needle in message
    run_dir = tmp_path / "cifar10-lsgan-one"
    assert not (run_dir / "metrics.jsonl").exists() and not (run_dir / "checkpoints").exists()


def test_missing_weights_file_named_in_error(blob_folder: Path, tmp_path: Path) -> None:
    code = main(
        [
            "gan",
            str(recipe_path("lsgan", "one")),
            *tiny_overrides(
                blob_folder, f"run.root={tmp_path}", "fid.enabled=true", f"fid.weights={tmp_path}/nope.pth"
            ),
        ]
    )
    assert code == 2


def test_absent_data_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(DataNotFoundError, match="no-such-folder"):
        run_gan(str(recipe_path("lsgan", "one")), tiny_overrides(missing, f"run.root={tmp_path}"))
    overrides = tiny_overrides(missing, f"run.root={tmp_path}", "run.name=x", "data.name=cifar10")
    code = main(["gan", str(recipe_path("lsgan", "one")), *overrides, f"data.root={tmp_path}/empty"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cifar10" in err and "data.download=true" in err


def test_conditional_on_a_single_class_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "faces" / "all"
    folder.mkdir(parents=True)
    for i in range(8):
        Image.new("RGB", (16, 16), (i * 20, 0, 0)).save(folder / f"{i}.png")
    with pytest.raises(GanSetupError, match="at least 2 classes"):
        run_gan(str(recipe_path("cgan", "one")), tiny_overrides(tmp_path / "faces", f"run.root={tmp_path}"))


def test_sample_cli_writes_a_png(blob_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = tiny_overrides(blob_folder, f"run.root={tmp_path}", "train.steps=2")
    summary = run_gan(str(recipe_path("cgan", "one")), overrides)
    out = tmp_path / "grid" / "grid.png"
    checkpoint = Path(summary["run_dir"]) / "checkpoints" / "last.pt"
    assert main(["sample", str(checkpoint), "--n", "16", "--out", str(out), "--seed", "1"]) == 0
    with Image.open(out) as image:
        assert image.size == (4 * 18 + 2, 4 * 18 + 2)  # 4 x 4 images of 16 px, 2 px padding
    first = out.read_bytes()
    assert main(["sample", summary["run_dir"], "--n", "16", "--out", str(out), "--seed", "1"]) == 0
    assert out.read_bytes() == first  # a run directory means its last.pt; same seed, same grid
    assert main(["sample", str(tmp_path / "missing.pt"), "--out", str(out)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def _lrs(run_dir: Path, key: str) -> list[float]:
    return [row[key] for row in _rows(run_dir) if key in row]


def test_an_extended_cosine_run_never_raises_its_learning_rate(blob_folder: Path, tmp_path: Path) -> None:
    overrides = tiny_overrides(blob_folder, f"run.root={tmp_path}", "run.name=cos", "optim.lr_schedule.name=cosine",
                               "train.steps=4", "logging.max_wall_s=1e-6")  # fmt: skip
    run_gan(str(recipe_path("lsgan", "one")), overrides)  # planned for 4 steps, stopped by the time limit
    done = load_checkpoint(tmp_path / "cos" / "checkpoints" / "last.pt")["session"]["step"]
    assert done < 4
    assert run_gan(None, ["train.steps=8", "logging.max_wall_s=null"], resume=str(tmp_path / "cos"))["steps"] == 8
    for key in ("train/lr_generator", "train/lr_critic"):
        lrs = _lrs(tmp_path / "cos", key)
        assert len(lrs) == 8 and all(later <= earlier for earlier, later in pairwise(lrs)), lrs
        assert lrs[-1] == 0.0 and lrs[done] > 0.0


def test_resume_refuses_a_hand_edited_recipe(blob_folder: Path, tmp_path: Path) -> None:
    import yaml

    from dfkd.runs.session import SessionError

    run_gan(str(recipe_path("lsgan", "one")), tiny_overrides(blob_folder, f"run.root={tmp_path}", "run.name=e",
                                                                 "train.steps=2"))  # fmt: skip
    recipe = yaml.safe_load((tmp_path / "e" / "recipe.yaml").read_text())
    recipe["loss"]["name"] = "hinge"
    (tmp_path / "e" / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    with pytest.raises(SessionError, match=r"the recipe \(recipe.yaml\) changed since last.pt was written"):
        run_gan(None, ["train.steps=4"], resume=str(tmp_path / "e"))
