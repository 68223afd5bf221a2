"""Initialisation Explorer: every nn.init scheme, theory against measured statistics.

Owns: the schemes (`schemes`), their theory (`theory`), the models it studies (`models`), the report
(`report`), executable code (`code`), charts and the `init` subcommand (`cli`). Imports `core`, `model`.
"""
