"""Models: the Keras 3 model an architecture describes, built and compiled in one place
(``builder.py``, imports TensorFlow), and the optimizers a run may name (``optimizers.py``,
no TensorFlow until one is made). Used by training, loading runs and probing models."""
