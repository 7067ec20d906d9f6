"""Datasets (real and procedurally generated), device-resident batches, and accuracy evaluation."""

from dfkd.data.batches import TensorBatches, load_to_tensors
from dfkd.data.datasets import build_dataset, dataset_spec
from dfkd.data.errors import DataNotFoundError
from dfkd.data.eval import evaluate_accuracy
from dfkd.data.shapes import make_shapes
from dfkd.data.spec import DatasetSpec

__all__ = [
    "DataNotFoundError",
    "DatasetSpec",
    "TensorBatches",
    "build_dataset",
    "dataset_spec",
    "evaluate_accuracy",
    "load_to_tensors",
    "make_shapes",
]
