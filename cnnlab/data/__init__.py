"""Data sets: the built-in digits, Keras's cache, MNIST-format IDX folders. No TensorFlow."""
