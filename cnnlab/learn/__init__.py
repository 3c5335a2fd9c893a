"""The Learn page's arithmetic: convolution and pooling step by step. No TensorFlow."""
