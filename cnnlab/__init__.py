"""CNN Lab: learn how convolutional neural networks work by building, training and probing them.

Importing this package is cheap: TensorFlow is imported only by the modules that train or run
models (``cnnlab.training``, ``cnnlab.inspect.inference``, ``cnnlab.runs.run_files``),
never by ``cnnlab.architecture``, ``cnnlab.data``, ``cnnlab.learn`` or ``cnnlab.views``
(``tests/test_layout.py`` checks it).
"""

__version__ = "0.1.0"
