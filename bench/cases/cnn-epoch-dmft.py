"""Benchmark at the DMFT paper's width N = 250 (3 layers with pooling, CIFAR-shaped 3x32x32, 256 images, batch 128):
the protocol and numpy port of cnn-epoch.py."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cnn_epoch", Path(__file__).with_name("cnn-epoch.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)

PARAMS = {"images": 256, "channels": 3, "size": 32, "width": 250, "layers": 3, "pool": 1, "batch_size": 128,
          "gamma0": 1.0, "eta": 0.05}
numpy_run = _base.numpy_run
agree = _base.agree
