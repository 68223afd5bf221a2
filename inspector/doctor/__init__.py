"""The shape doctor: why shapes do not fit and the one-step fix.

Owns: the rule registry keyed by layer class (`registry`), the rules by topic (`linear`, `norms`,
`sequences`, `spatial`; their shared phrases in `wording`, the walk back to a size's source in
`sources`), the fixes and how they are applied to a network spec (`fixes`), and the diagnosis of a
spec or a failed forward (`diagnose`). Imports `core` and `layers`.
"""
