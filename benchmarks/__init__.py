"""Side-by-side benchmark of inspect_model, torchinfo and FlopCounterMode (and fvcore, ptflops).

Run `python -m benchmarks` (README, "Benchmarks"); results land in benchmarks/results.md.
"""
