"""The numbers an inspection produces, as plain dataclasses: no formatting happens here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from inspector.core.shapes import ShapeTree

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LayerReport:
    """One module of the model: what it received, what it gave, what it holds, what it cost.

    `params` counts the module's own parameters (not its children's), each shared parameter once
    (at its first owner); `params_total` also counts its children. `flops` is what
    FlopCounterMode counted while this module's forward ran, children included, over all calls.
    `input_shape`/`output_shape` are from the first call; None when the forward never ran it.
    `flops_counted` is False for a leaf whose arithmetic FlopCounterMode has no formula for (pooling,
    normalisation, activations; see `inspector.core.flops.UNCOUNTED_LAYERS`): its `flops` of 0 then
    means "not counted", not "free"; readable formats say so, JSON and CSV keep the 0.
    """

    name: str
    type: str
    depth: int
    input_shape: ShapeTree
    output_shape: ShapeTree
    weight_shapes: dict[str, list[int]]
    buffer_shapes: dict[str, list[int]]
    params: int
    trainable_params: int
    params_total: int
    flops: int
    calls: int
    is_leaf: bool
    tied: dict[str, str] = field(default_factory=dict)
    flops_counted: bool = True

    @property
    def macs(self) -> int:
        """Return multiply–accumulates: FLOPs / 2 (FlopCounterMode counts one MAC as two FLOPs)."""
        return self.flops // 2

    @property
    def trainable(self) -> bool | None:
        """Return whether all own parameters train; None for a module without parameters."""
        if not self.weight_shapes:
            return None
        return self.trainable_params == self.params


@dataclass(frozen=True)
class ModelReport:
    """The whole inspection: totals, and one LayerReport per module in definition order."""

    model: str
    device: str
    dtype: str
    input_size: ShapeTree
    output_shape: ShapeTree
    total_params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    output_bytes: int
    flops: int
    layers: list[LayerReport]
    mode: str = "eval"
    cuda_visible_devices: str | None = None

    @property
    def macs(self) -> int:
        """Return multiply–accumulates: FLOPs / 2."""
        return self.flops // 2

    def layers_to_depth(self, depth: int | None) -> list[LayerReport]:
        """Return the layers no deeper than `depth` (all when None)."""
        return [layer for layer in self.layers if depth is None or layer.depth <= depth]

    def to_dict(self, depth: int | None = None) -> dict[str, object]:
        """Return the stable JSON document (see README, "JSON schema")."""
        data = asdict(self)
        data["macs"] = self.macs
        data["schema_version"] = SCHEMA_VERSION
        data["layers"] = [
            {**asdict(layer), "macs": layer.macs, "trainable": layer.trainable} for layer in self.layers_to_depth(depth)
        ]
        return data
