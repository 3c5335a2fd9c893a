"""Training: the one routine that builds, fits and evaluates (``routine.py``), the progress
it reports (``progress.py``), feeding, augmentation, evaluation, memory, hints. Imports
TensorFlow (``progress.py`` does not)."""
