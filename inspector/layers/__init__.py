"""What we know about one layer, without running a model.

Owns: the layer registry and argument specs (`specs`, `args`), the pure arithmetic with worked formulas
(`output_size`, `padding`, `param_formulas`, `receptive_field`, gathered by `formulas`), and the JSON
network spec a list of layers is written in (`network_spec`). Imports only `core`.
"""
