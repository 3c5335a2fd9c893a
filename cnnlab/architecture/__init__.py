"""The architecture: the spec and its JSON format, the layer registry, shape arithmetic,
the resource guard, presets, editing and code export. No TensorFlow."""
