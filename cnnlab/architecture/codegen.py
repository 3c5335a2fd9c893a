"""Export an architecture as a standalone, runnable Keras script in the tutorials' style."""

from __future__ import annotations

import json
import re
from typing import Any

from cnnlab.architecture import fields, layer_types, shapes
from cnnlab.architecture.spec import Architecture

BUILD_START = "# --- build ---"
BUILD_END = "# --- end build ---"


def _code(value: Any) -> str:
    """A value as Python source: strings in double quotes, square pairs as one int."""
    value = fields.shown(value)
    if isinstance(value, str):
        return json.dumps(value)
    return repr(tuple(value) if isinstance(value, list) else value)


def _literal(text: str) -> str:
    """A string as an escaped Python literal: nothing in it can end the string or run."""
    return json.dumps(text)


def file_stem(name: str) -> str:
    """A safe file name (without ``.py``) for an architecture's name.

    Example:
        >>> file_stem('x" + os.system("ls") + "')
        'x_os.system_ls'
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:60] or "model"


def layer_code(row: shapes.Row) -> str:
    """One ``layers.X(...)`` expression for a summary row, with the builder's names."""
    cls, args, kwargs = layer_types.keras_call(row.type, row.layer)
    parts = [_code(v) for v in args] + [f"{k}={_code(v)}" for k, v in kwargs.items()]
    parts.append(f"name={_code(row.name)}")
    return f"layers.{cls}({', '.join(parts)})"


def model_code(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> str:
    """The model-building part alone: defines ``model`` (needs ``keras`` and ``layers``)."""
    summary = shapes.checked_summary(arch, input_shape, num_classes)
    lines = [
        "model = keras.Sequential(",
        "    [",
        f"        keras.Input(shape={tuple(summary.input_shape)}),",
        "        layers.Rescaling(1 / 255, name=\"rescale\"),  # pixels 0..255 -> 0..1",
    ]
    for row in summary.rows:
        automatic = row.auto and row.type == layer_types.AUTO_FLATTEN
        note = "  # inserted automatically" if automatic else ""
        lines.append(f"        {layer_code(row)},{note}")
    lines += ["    ],", f"    name={_literal(arch.name)},", ")"]
    return "\n".join(lines)


def script(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None, dataset: str = "mnist", epochs: int = 5,
    batch_size: int = 64, learning_rate: float = 1e-3,
) -> str:
    """A runnable script: load the data, build, compile, fit and evaluate.

    Args:
        arch: the architecture (validated).
        input_shape, num_classes: override the architecture's; default 28×28×1 and 10.
        dataset: ``mnist`` or ``fashion-mnist`` (loaded with ``keras.datasets``).
        epochs, batch_size, learning_rate: the training settings written into the script.
    Returns:
        Python source text.

    Example:
        >>> from cnnlab.architecture import presets
        >>> "model.fit" in script(presets.get("two-conv"))
        True
    """
    loader = "fashion_mnist" if dataset == "fashion-mnist" else "mnist"
    body = model_code(arch, input_shape, num_classes)
    epochs, batch_size, learning_rate = int(epochs), int(batch_size), float(learning_rate)
    doc = _literal(f"{arch.name}: a CNN exported from CNN Lab. Run with: "
                   f"python {file_stem(arch.name)}.py")
    return f'''{doc}

import keras
from keras import layers

# Load the data: 28x28 grayscale images with labels 0-9.
(x_train, y_train), (x_test, y_test) = keras.datasets.{loader}.load_data()
# Add the channel axis; the model itself scales pixels from 0..255 to 0..1.
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32")
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32")

{BUILD_START}
{body}
{BUILD_END}
model.summary()

model.compile(
    optimizer=keras.optimizers.Adam({learning_rate!r}),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size={batch_size}, epochs={epochs}, validation_split=0.1)

test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {{test_accuracy:.4f}}, test loss: {{test_loss:.4f}}")
'''


def build_section(source: str) -> str:
    """The model-building part of a generated script (between the build markers)."""
    start = source.index(BUILD_START) + len(BUILD_START)
    return source[start:source.index(BUILD_END)]
