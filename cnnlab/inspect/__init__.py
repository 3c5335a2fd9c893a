"""Looking inside a trained model: inference, drawing preprocessing, pixel reading."""
