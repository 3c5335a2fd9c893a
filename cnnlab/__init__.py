"""CNN Lab: learn how convolutional neural networks work by building, training and probing them.

Importing this package is cheap: TensorFlow is imported only by the modules that train or run
models (``cnnlab.builder``, ``cnnlab.engine``, ``cnnlab.inference``), never by the spec and
shape arithmetic behind the Build page and ``cnnlab summary``.
"""

__version__ = "0.1.0"
