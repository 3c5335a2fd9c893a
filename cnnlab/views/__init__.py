"""Views: numbers to pictures (grids, colours, charts, the network diagram). No TensorFlow."""
