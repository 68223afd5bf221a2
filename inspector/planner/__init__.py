"""Training Planner: the memory a training step needs, the largest batch, and a measured step.

Owns: the estimate from saved-tensor hooks, the batch search, the measured training step, their
charts and the `memory` / `train-step` subcommands. Imports `core`, `doctor`, `model`.
"""
