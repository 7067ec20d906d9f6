"""evaluate_accuracy: top-1 on a trivial model, normalisation hook, uint8 input, mode restoration."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dfkd.data.eval import agreement, eval_mode, evaluate_accuracy, predict_top1


class ChannelMeans(nn.Module):
    """Logits = per-channel means: predicts the brightest channel (3 classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(3, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        assert not self.training, "evaluate_accuracy must put the model in eval mode"
        return x.mean(dim=(2, 3))


def test_accuracy_normalize_and_mode_restore() -> None:
    images = torch.zeros(6, 3, 4, 4)
    for i in range(6):
        images[i, i % 3] = 1.0
    labels = torch.tensor([0, 1, 2, 0, 0, 0])  # 4 of 6 correct
    model = ChannelMeans().train()
    model.norm.eval()
    assert evaluate_accuracy(model, images, labels, batch_size=4) == 4 / 6
    assert model.training and not model.norm.training
    rolled = evaluate_accuracy(model, images, labels, normalize=lambda x: x.roll(1, dims=1))
    assert rolled == 1 / 6  # predictions shift by one class: only sample 5 (channel 2 -> 0) hits
    as_uint8 = (images * 255).to(torch.uint8)
    assert evaluate_accuracy(model, as_uint8, labels) == 4 / 6


def test_predict_top1_and_agreement() -> None:
    images = torch.zeros(3, 3, 2, 2)
    for i in range(3):
        images[i, (i + 1) % 3] = 1.0
    model = ChannelMeans().train()
    predictions = predict_top1(model, images, batch_size=2)
    assert predictions.tolist() == [1, 2, 0] and predictions.device.type == "cpu" and model.training
    assert agreement(predictions, torch.tensor([1, 2, 2])) == 2 / 3  # exact count / N, not a float32 mean


def test_eval_mode_restores_every_submodule_even_on_error() -> None:
    model = ChannelMeans().train()
    model.norm.eval()
    try:
        with eval_mode(model):
            assert not model.training
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert model.training and not model.norm.training
