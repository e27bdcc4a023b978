"""Benchmark at width N = 128 (the fluctuations paper's widest but one; 5 layers with pooling, CIFAR-shaped 3x32x32):
the protocol and numpy port of cnn-epoch.py."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cnn_epoch", Path(__file__).with_name("cnn-epoch.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)

PARAMS = dict(_base.PARAMS, width=128)
numpy_run = _base.numpy_run
agree = _base.agree
