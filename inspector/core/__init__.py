"""The shared base every feature builds on, importing nothing above it.

Owns: the error types and message catalogues (`errors`, `messages`, `i18n`), units and worked
formulas, shape trees and input makers (`shapes`, `inputs`), devices and dtypes, the traced forward
(`collect`: hooks plus a FlopCounterMode subclass; `flops`), the report dataclasses (`report`), the
memory guard, and the text/JSON/CSV renderings of a report (`formatting`).
"""
