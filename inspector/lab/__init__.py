"""Layer Lab: one real layer inspected, with its formulas and pictures.

Owns: `inspect_layer` (`inspection`), its text rendering (`formatting`), the cells a window reads
(`windows`) and the sliding-window and matmul figures (`charts`). Imports `core`, `layers`, `model`.
"""
