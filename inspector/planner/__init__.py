"""Training Planner: the memory a training step needs, the largest batch, and a measured step.

Owns: the choices and count checks (`choices`), the model and its loss (`subject`), the saved-tensor
count (`saved_tensors`), the estimate by part (`estimate`), budgets and the batch search
(`largest_batch`), the measured step (`train_step`, run by `session`, measured by `meter`, its
devices in `placement`), planning for pasted code in a worker (`user_code`), their charts and the
`memory` / `train-step` subcommands (`cli`).
Imports `core`, `doctor`, `model`.
"""
