"""Training: the Keras builder, the engine and its job queue, progress, feeding,
evaluation, memory, hints. Imports TensorFlow."""
