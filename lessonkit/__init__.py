"""The machinery behind the lesson's five stages: params, datasets, the model, fast and resumable training,
the environment record and the pictures. One module per job; the stages in stages/ call them.

Importing the package pins TensorFlow's numerics (lessonkit.numerics), so it must come before TensorFlow loads:
stages/ and tools/ import it first, and so does every test, notebook and benchmark process.
"""

from lessonkit.numerics import pin

pin()
