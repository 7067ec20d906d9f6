"""Prepared GPU runs: the readiness check (``scripts/gpu-check.sh``, :mod:`dfkd.gpu.check`) and the CIFAR-10
reproduction (``scripts/gpu-reproduce.sh``, :mod:`dfkd.gpu.reproduce`).

Both are sized for one lent GPU and a few minutes, install included, and both run on a CPU in a ``--smoke``
mode (tiny networks, seconds) that the tests exercise. They write a few small files (JSON, markdown, plots) to
an output folder and keep run directories and checkpoints elsewhere.
"""
