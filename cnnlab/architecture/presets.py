"""Named architectures: the tutorials this project grew from."""

from __future__ import annotations

from pathlib import Path

from cnnlab.architecture import spec_json
from cnnlab.architecture.spec import Architecture, Layer, Problem, SpecError, make_layer

DEFAULT_PRESET = "two-conv"


def _conv(filters: int, kernel_size: int = 3, **fields) -> Layer:
    return make_layer("conv2d", filters=filters, kernel_size=kernel_size, **fields)


def _max() -> Layer:
    return make_layer("max_pool2d", pool_size=2)


def _avg() -> Layer:
    return make_layer("avg_pool2d", pool_size=2)


def _dense(units: int, activation: str = "relu") -> Layer:
    return make_layer("dense", units=units, activation=activation)


def _drop(rate: float) -> Layer:
    return make_layer("dropout", rate=rate)


_FLAT = make_layer("flatten")

# name -> (one-line description, layers); the softmax head is added automatically.
_PRESETS = {
    "tutorial-1conv": (
        "the smallest CNN: one 3x3 conv, one max pool, straight to the classifier",
        (_conv(32), _max(), _FLAT),
    ),
    "fashion-tutorial": (
        "the Fashion-MNIST tutorial: one conv, one pool, a 128-unit dense layer",
        (_conv(32), _max(), _FLAT, _dense(128)),
    ),
    "two-conv": (
        "the default: two conv/pool stages and a 128-unit dense layer (~99% on MNIST)",
        (_conv(32), _max(), _conv(64), _max(), _FLAT, _dense(128)),
    ),
    "three-conv": (
        "three conv layers, the last without pooling, and a 64-unit dense layer",
        (_conv(32), _max(), _conv(64), _max(), _conv(64), _FLAT, _dense(64)),
    ),
    "two-conv-dropout": (
        "two-conv with dropout 0.5 after each stage and the dense layer, against overfitting",
        (_conv(32), _max(), _drop(0.5), _conv(64), _max(), _drop(0.5), _FLAT, _dense(128),
         _drop(0.5)),
    ),
    "lenet-5": (
        "LeCun's LeNet-5 (1998): 5x5 tanh convs, average pooling, dense 120 and 84",
        (_conv(6, 5, padding="same", activation="tanh"), _avg(),
         _conv(16, 5, activation="tanh"), _avg(), _FLAT, _dense(120, "tanh"),
         _dense(84, "tanh")),
    ),
    "tiny-vgg": (
        "CNN Explainer's model: two blocks of two 3x3 convs with 10 filters and a max pool",
        (_conv(10), _conv(10), _max(), _conv(10), _conv(10), _max(), _FLAT),
    ),
}

PRESET_NAMES = tuple(_PRESETS)


def describe(name: str) -> str:
    """The preset's one-line description."""
    return _PRESETS[name][0]


def get(name: str) -> Architecture:
    """The preset called ``name``, with no input shape or class count (a data set supplies them).

    Example:
        >>> len(get("two-conv").layers)
        6
    Raises:
        SpecError: for an unknown name, listing the presets.
    """
    if name not in _PRESETS:
        raise SpecError([Problem(f"unknown preset \"{name}\"; use one of "
                                 f"{', '.join(PRESET_NAMES)} or a path to a JSON file")])
    return Architecture(name=name, layers=_PRESETS[name][1])


def resolve(arg: str) -> Architecture:
    """A JSON file path or a preset name; raises :class:`SpecError` for either kind of problem."""
    if arg.endswith(".json") or Path(arg).exists() or "/" in arg:
        return spec_json.load_architecture(arg)
    return get(arg)
