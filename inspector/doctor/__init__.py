"""The shape doctor: why shapes do not fit and the one-step fix.

Owns: the rule registry keyed by layer class (`registry`), the rules (`rules`, `spatial`), the fixes
and how they are applied to a network spec (`fixes`), and the diagnosis of a spec or a failed forward
(`diagnose`). Imports `core` and `layers`.
"""
