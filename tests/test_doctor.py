"""The shape doctor on each failure kind: the reason names both shapes, and every fix it offers,
applied to the spec, builds a network that real torch runs (built here with plain `nn.<Type>(**args)`,
not through the builder)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from inspector.builder.build import fix_until_fits, propagate
from inspector.builder.templates import alexnet_spec, lenet5_spec
from inspector.core.errors import ForwardError, InvalidArgumentError
from inspector.doctor.diagnose import diagnose_failure
from inspector.doctor.fixes import EditKind, Fix, apply_fix, set_args
from inspector.layers.network_spec import NetworkSpec, layer_entry
from inspector.layers.specs import LAYERS, CallStyle
from inspector.model.inspection import inspect_model


def spec_of(input_shape: tuple[int, ...], *layers: tuple[str, dict], input_dtype: str = "float32") -> NetworkSpec:
    return NetworkSpec(input_shape, tuple(layer_entry(kind, **args) for kind, args in layers), input_dtype)


def torch_forward(spec: NetworkSpec) -> torch.Tensor:
    """Run the spec with plain torch modules built from its arguments (independent of the builder)."""
    x = (
        torch.zeros(spec.input_shape, dtype=torch.int64)
        if spec.input_dtype == "int64"
        else torch.randn(spec.input_shape)
    )
    with torch.no_grad():
        for entry in spec.layers:
            layer = getattr(nn, entry.type)(**entry.args).eval()
            arity = {CallStyle.SINGLE: 1, CallStyle.PAIR: 2, CallStyle.SELF_ATTENTION: 3}[LAYERS[entry.type].call_style]
            x = layer(*(x,) * arity)
            x = x[0] if isinstance(x, tuple) else x
    return x


def diagnosis_of(spec: NetworkSpec, device: str = "cpu"):
    result = propagate(spec, device)
    assert not result.fits, "the spec was expected not to fit"
    return result.diagnosis


def fixed_shape(spec: NetworkSpec, fix: Fix, device: str = "cpu") -> tuple[int, ...]:
    """Apply `fix`, check the builder agrees it fits, and return the output shape real torch gives."""
    fixed = apply_fix(spec, fix)
    assert propagate(fixed, device).fits, fix.description
    return tuple(torch_forward(fixed).shape)


def with_real_torch_failing(spec: NetworkSpec) -> None:
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        torch_forward(spec)


def test_alexnet_mistake_in_features_is_what_flatten_gives():
    spec = alexnet_spec(first_linear_in_features=4096)  # 61M parameters: the builder runs it on meta here
    diagnosis = diagnosis_of(spec, "meta")
    assert (diagnosis.layer_index, diagnosis.layer_type, diagnosis.input_shape) == (16, "Linear", (1, 9216))
    assert "(*, 4096)" in diagnosis.reason and "(1, 9216)" in diagnosis.reason
    assert "256·6·6 = 9216" in diagnosis.reason
    first, pool = diagnosis.fixes
    assert first.edits == (set_args(16, in_features=9216),)  # 256 · 6 · 6 = 9216
    assert "9216 (= 256·6·6)" in first.description
    assert fixed_shape(spec, first, "meta") == (1, 1000)
    # the other fix shrinks the feature map instead: 4096 / 256 = 16 = 4 · 4
    assert pool.edits == (set_args(13, output_size=(4, 4)),)
    assert fixed_shape(spec, pool, "meta") == (1, 1000)


def test_conv_in_channels_from_the_previous_layer_or_the_previous_layer_changed():
    spec = spec_of(
        (1, 1, 28, 28),
        ("Conv2d", dict(in_channels=1, out_channels=6, kernel_size=5, padding=0)),
        ("ReLU", {}),
        ("MaxPool2d", dict(kernel_size=2)),
        ("Conv2d", dict(in_channels=3, out_channels=16, kernel_size=5, padding=0)),
    )
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert diagnosis.layer_index == 3 and "in_channels=3" in diagnosis.reason and "(1, 6, 12, 12)" in diagnosis.reason
    own, source = diagnosis.fixes
    assert own.edits == (set_args(3, in_channels=6),)
    assert source.edits == (set_args(0, out_channels=3),)  # through ReLU and MaxPool2d, which keep channels
    # 28 − 5 + 1 = 24, pooled 12, 12 − 5 + 1 = 8
    assert fixed_shape(spec, own) == fixed_shape(spec, source) == (1, 16, 8, 8)


def test_batchnorm_num_features_and_the_conv_before_it():
    spec = spec_of(
        (2, 3, 8, 8),
        ("Conv2d", dict(in_channels=3, out_channels=8, kernel_size=3, padding=1)),
        ("BatchNorm2d", dict(num_features=16)),
    )
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert "num_features=16" in diagnosis.reason and "8 channels" in diagnosis.reason
    own, source = diagnosis.fixes
    assert own.edits == (set_args(1, num_features=8),) and source.edits == (set_args(0, out_channels=16),)
    assert fixed_shape(spec, own) == (2, 8, 8, 8)  # padding 1 keeps 8 × 8
    assert fixed_shape(spec, source) == (2, 16, 8, 8)


def test_batchnorm2d_after_flatten_is_replaced_by_batchnorm1d():
    spec = spec_of((2, 4, 3, 3), ("Flatten", {}), ("BatchNorm2d", dict(num_features=36)))
    diagnosis = diagnosis_of(spec)
    assert "(2, 36)" in diagnosis.reason and "2 dimensions" in diagnosis.reason
    (replace,) = diagnosis.fixes
    assert [edit.kind for edit in replace.edits] == [EditKind.REMOVE_LAYER, EditKind.INSERT_LAYER]
    assert fixed_shape(spec, replace) == (2, 36)  # 4 · 3 · 3 = 36


def test_groupnorm_channels_and_a_group_count_that_divides_them():
    spec = spec_of(
        (1, 3, 8, 8),
        ("Conv2d", dict(in_channels=3, out_channels=6, kernel_size=3, padding=1)),
        ("GroupNorm", dict(num_groups=4, num_channels=16)),
    )
    diagnosis = diagnosis_of(spec)
    own = diagnosis.fixes[0]
    # 4 does not divide 6; the largest divisor of 6 that is ≤ 4 is 3
    assert own.edits == (set_args(1, num_channels=6, num_groups=3),)
    assert fixed_shape(spec, own) == (1, 6, 8, 8)  # padding 1 keeps 8 × 8


def test_kernel_larger_than_the_padded_input_gets_a_padding_or_a_smaller_kernel():
    spec = spec_of((1, 1, 3, 3), ("Conv2d", dict(in_channels=1, out_channels=4, kernel_size=5, padding=0)))
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert "(5, 5)" in diagnosis.reason and "(3, 3)" in diagnosis.reason
    padding, kernel = diagnosis.fixes
    assert padding.edits == (set_args(0, padding=2),)  # same padding: 1·(5 − 1)/2 = 2
    assert "p = d·(k − 1)/2 = 1·(5 − 1)/2 = 2" in padding.description
    assert fixed_shape(spec, padding) == (1, 4, 3, 3)  # 3 + 2·2 − 5 + 1 = 3
    assert kernel.edits == (set_args(0, kernel_size=3),)
    assert fixed_shape(spec, kernel) == (1, 4, 1, 1)  # 3 − 3 + 1 = 1


def test_strided_kernel_too_large_pads_to_the_ceiling_of_h_over_s():
    spec = spec_of((1, 1, 4, 4), ("Conv2d", dict(in_channels=1, out_channels=2, kernel_size=7, stride=2, padding=0)))
    padding = diagnosis_of(spec).fixes[0]
    # target ⌈4/2⌉ = 2; fewest padded cells (2 − 1)·2 + 1·(7 − 1) + 1 − 4 = 5, so p = ⌈5/2⌉ = 3
    assert padding.edits == (set_args(0, padding=3),)
    assert fixed_shape(spec, padding) == (1, 2, 2, 2)  # ⌊(4 + 6 − 6 − 1)/2⌋ + 1 = 2


def test_pooling_window_larger_than_the_input():
    spec = spec_of((1, 2, 3, 3), ("MaxPool2d", dict(kernel_size=5)))
    diagnosis = diagnosis_of(spec)
    kernel, remove = diagnosis.fixes
    assert kernel.edits == (set_args(0, kernel_size=3),)
    assert fixed_shape(spec, kernel) == (1, 2, 1, 1)
    assert remove.edits[0].kind is EditKind.REMOVE_LAYER and fixed_shape(spec, remove) == (1, 2, 3, 3)


def test_a_2d_image_needs_batch_and_channel_dimensions():
    spec = spec_of((28, 28), ("Conv2d", dict(in_channels=1, out_channels=6, kernel_size=5, padding=0)))
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert "(28, 28)" in diagnosis.reason and "(N, C, H_in, W_in)" in diagnosis.expected
    view, unsqueeze = diagnosis.fixes
    assert view.code == "X = X.view((1, 1) + X.shape)" and view.edits[0].input_shape == (1, 1, 28, 28)
    assert fixed_shape(spec, view) == (1, 6, 24, 24)  # 28 − 5 + 1 = 24
    assert unsqueeze.code == "X = X.unsqueeze(0)" and "also accepts" in unsqueeze.description
    assert fixed_shape(spec, unsqueeze) == (6, 24, 24)  # unbatched in, unbatched out


def test_unbatched_c_h_w_input_runs_through_conv2d():
    """The notes' erratum: since PyTorch 1.11 a (1, 28, 28) input is an unbatched (C, H, W), not an error."""
    result = propagate(spec_of((1, 28, 28), ("Conv2d", dict(in_channels=1, out_channels=6, kernel_size=5, padding=0))))
    assert result.fits and result.output_shape == (6, 24, 24)
    assert "unbatched" in result.steps[0].notes[0]


def test_unbatched_image_through_lenet_gets_the_batch_dimension_first():
    spec = NetworkSpec((1, 28, 28), lenet5_spec().layers)
    diagnosis = diagnosis_of(spec)
    # Flatten keeps dimension 0 of the unbatched (16, 5, 5): (16, 25), so the Linear(400) fails
    assert (diagnosis.layer_index, diagnosis.input_shape) == (7, (16, 25))
    first = diagnosis.fixes[0]
    assert first.code == "X = X.unsqueeze(0)" and first.edits[0].input_shape == (1, 1, 28, 28)
    assert fixed_shape(spec, first) == (1, 10)


@pytest.mark.parametrize("in_features", [784, 100])
def test_missing_flatten_before_linear(in_features):
    spec = spec_of((1, 1, 28, 28), ("Linear", dict(in_features=in_features, out_features=10)))
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert "Flatten is missing" in diagnosis.reason
    flatten, last_dim = diagnosis.fixes
    assert flatten.edits[0].kind is EditKind.INSERT_LAYER and flatten.edits[0].layer_type == "Flatten"
    assert len(flatten.edits) == (1 if in_features == 784 else 2)  # 1 · 28 · 28 = 784 needs no change
    assert fixed_shape(spec, flatten) == (1, 10)
    assert fixed_shape(spec, last_dim) == (1, 1, 28, 10)  # the Linear applied to the last dimension alone


def test_embedding_fed_floats_gets_token_ids():
    spec = spec_of((1, 16), ("Embedding", dict(num_embeddings=100, embedding_dim=8)))
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert "token id" in diagnosis.reason and "torch.float32" in diagnosis.reason
    (fix,) = diagnosis.fixes
    assert fix.code == "X = X.long()" and fix.edits[0].input_dtype == "int64"
    assert fixed_shape(spec, fix) == (1, 16, 8)


def test_recurrent_input_size_or_the_linear_before_it():
    spec = spec_of(
        (5, 1, 4), ("Linear", dict(in_features=4, out_features=12)), ("LSTM", dict(input_size=10, hidden_size=20))
    )
    with_real_torch_failing(spec)
    diagnosis = diagnosis_of(spec)
    assert "input_size=10" in diagnosis.reason and "(5, 1, 12)" in diagnosis.reason
    own, source = diagnosis.fixes
    assert own.edits == (set_args(1, input_size=12),) and source.edits == (set_args(0, out_features=10),)
    assert fixed_shape(spec, own) == fixed_shape(spec, source) == (5, 1, 20)


@pytest.mark.parametrize(
    ("spec", "fixed"),
    [
        (spec_of((2, 10, 12), ("LayerNorm", dict(normalized_shape=(16,)))), (2, 10, 12)),
        (spec_of((10, 1, 12), ("MultiheadAttention", dict(embed_dim=64, num_heads=8))), (10, 1, 12)),
        (spec_of((10, 1, 12), ("TransformerEncoderLayer", dict(d_model=64, nhead=8))), (10, 1, 12)),
        (spec_of((3, 7), ("Bilinear", dict(in1_features=20, in2_features=30, out_features=4))), (3, 4)),
        (spec_of((784,), ("Flatten", {})), (1, 784)),
        (
            spec_of(
                (1, 4),
                ("Linear", dict(in_features=4, out_features=8)),
                ("ReLU", {}),
                ("Linear", dict(in_features=6, out_features=2)),
            ),
            (1, 2),
        ),
    ],
    ids=["layernorm", "attention", "encoder", "bilinear", "flatten-1d", "linear-after-linear"],
)
def test_other_feature_mismatches(spec, fixed):
    diagnosis = diagnosis_of(spec)
    assert diagnosis.fixes, diagnosis.reason
    assert fixed_shape(spec, diagnosis.fixes[0]) == fixed
    for fix in diagnosis.fixes[1:]:  # every other fix works too
        assert propagate(apply_fix(spec, fix), "cpu").fits


def test_meta_reports_what_meta_kernels_let_through():
    """Meta runs Linear on int64 input and a ConvTranspose2d with the wrong channels; real devices refuse both."""
    ints = spec_of((1, 16), ("Linear", dict(in_features=16, out_features=4)), input_dtype="int64")
    transpose = spec_of((1, 1, 5, 5), ("ConvTranspose2d", dict(in_channels=3, out_channels=6, kernel_size=3)))
    for spec in (ints, transpose):
        with_real_torch_failing(spec)
        diagnosis = diagnosis_of(spec, "meta")
        assert "meta" in diagnosis.torch_message
        assert propagate(apply_fix(spec, diagnosis.fixes[0]), "cpu").fits


def test_inspect_model_hint_uses_the_doctor():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4096, 10))
    with pytest.raises(ForwardError) as caught:
        inspect_model(model, input_size=(1, 256, 6, 6))
    assert "set in_features=9216" in caught.value.hint  # 256 · 6 · 6 = 9216
    assert diagnose_failure(nn.Conv2d(3, 8, 3), [1, 1, 8, 8]).startswith("Conv2d has in_channels=3")


def test_a_fix_for_a_users_model_cannot_be_applied_to_a_spec():
    with pytest.raises(InvalidArgumentError, match="names no layer"):
        apply_fix(spec_of((1, 4), ("ReLU", {})), Fix("set in_features=4", (set_args(None, in_features=4),)))


def test_fix_until_fits_applies_fixes_in_turn_and_stops_when_none_applies():
    spec = spec_of(
        (28, 28),
        ("Conv2d", dict(in_channels=1, out_channels=6, kernel_size=5, padding=0)),
        ("Flatten", {}),
        ("Linear", dict(in_features=10, out_features=10)),
    )
    fixed, applied, result = fix_until_fits(spec, "meta")
    assert result.fits and len(applied) == 2  # add (1, 1) dimensions, then in_features = 6 · 24 · 24 = 3456
    assert fixed.layers[2].args["in_features"] == 3456
    assert tuple(torch_forward(fixed).shape) == (1, 10)
    stuck = spec_of((1, 4), ("ReLU", {}), ("Embedding", dict(num_embeddings=10, embedding_dim=4)))
    _, applied, result = fix_until_fits(stuck, "meta")
    assert not result.fits and applied == () and "comes first" in result.diagnosis.reason


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
)
def test_every_kernel_fix_runs_in_torch(height, width, kernel, stride, dilation):
    spec = spec_of(
        (1, 2, height, width),
        (
            "Conv2d",
            dict(in_channels=2, out_channels=3, kernel_size=kernel, stride=stride, padding=0, dilation=dilation),
        ),
    )
    result = propagate(spec, "meta")
    if result.fits:
        return
    assert result.diagnosis.fixes
    for fix in result.diagnosis.fixes:
        out = torch_forward(apply_fix(spec, fix))
        assert out.shape[:2] == (1, 3) and min(out.shape[2:]) >= 1
