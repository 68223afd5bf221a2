"""Side-by-side benchmark of inspect_model, torchinfo and FlopCounterMode (and fvcore, ptflops).

Run `python -m benchmarks` (docs/benchmarks.md); results land in benchmarks/results.md.
"""
