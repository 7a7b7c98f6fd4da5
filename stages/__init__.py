"""The pipeline's five stages, one module each: download, prepare, train, evaluate, predict."""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before any stage loads TensorFlow
