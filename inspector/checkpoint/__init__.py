"""Checkpoint Inspector: read .safetensors/.pt files without running them, and match them to a model.

Owns: the reader (`reader`), matching against a module or a zoo model (`match`) and the `checkpoint`
subcommand (`cli`). Imports `core` and `model`.
"""
