"""Inspecting a whole model: one traced forward into a ModelReport.

Owns: `inspection` (inspect_model, restoring the model), the stand-in tensors and per-module
parameter counts it shares with the graph (`stand_ins`), the zoo's builders and
`inspect_named_model` (`zoo`), torchinfo's text for comparison (`torchinfo_text`), and the Model
Inspector's charts (`chart_data`, `charts`). Imports `core`, `layers` and `doctor` (to explain a failed forward).
"""
