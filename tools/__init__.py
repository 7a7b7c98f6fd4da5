"""Commands beside the pipeline: install the registry copies, draw DVC's plots offline, classify your images."""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before any tool loads TensorFlow
