"""The pipeline's stages, one module each, and the small shared code they import."""

import os

# TensorFlow's C++ start-up chatter (oneDNN notes, graph attribute mismatches) says nothing a user
# can act on; real failures still raise in Python. Set TF_CPP_MIN_LOG_LEVEL to see it again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
