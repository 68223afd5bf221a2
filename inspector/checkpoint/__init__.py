"""Checkpoint Inspector: read .safetensors/.pt files without running them, and match them to a model.

Owns: the reader (`reader`, which parses in a sandboxed child), the checks before torch reads a byte
(`guard` for pickles, `safetensors_header`), matching against a module or a zoo model (`match`) and
the `checkpoint` subcommand (`cli`). Imports `core` and `model`.
"""
