"""Model Builder: a network spec propagated layer by layer, diagnosed and turned into code.

Owns: `build` (propagate, build_network), `code` (generate_code), `templates`, `charts`, and the
`build` subcommand (`cli`). Imports `core`, `layers`, `doctor`, `model`, `lab`.
"""
