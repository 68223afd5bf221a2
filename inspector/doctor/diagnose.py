"""The shape doctor: for a layer that could not take its input, the reason in words and the fixes.

Dispatch is by a registry keyed on the layer class (subclasses included via the MRO), so a user's
subclass of nn.Linear gets the Linear advice. A rule sees a `FailureSite`: the built module, what
it received, and, inside a network spec, its position and the layers before it; it returns a
`Finding` (the reason, what the layer takes, and `Fix`es that `fixes.apply_fix` applies), or None
when it sees nothing wrong. The rules live in `linear`, `norms`, `sequences` and `spatial` (with the
phrases they share in `wording` and the walk back to a size's source in `sources`), the registry in
`registry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from inspector.core.dtypes import DType, resolve_dtype
from inspector.core.messages import Message, msg
from inspector.core.shapes import ShapeTree, format_shape_tree
from inspector.doctor import linear, norms, sequences, spatial  # noqa: F401  (importing them registers the rules)
from inspector.doctor.fixes import Fix, set_input
from inspector.doctor.inputs import WholeModel, input_fix
from inspector.doctor.registry import (  # noqa: F401  (re-exported: the builder and tests use them from here)
    FailureSite,
    Finding,
    PreviousLayer,
    at_network_input,
    diagnoses,
    rule_for,
)
from inspector.layers.specs import BY_CLASS


@dataclass(frozen=True)
class Diagnosis:
    """The doctor's answer for one failing layer."""

    layer_index: int | None
    layer_name: str
    layer_type: str
    input_shape: tuple[int, ...]
    expected: str
    reason: Message
    fixes: tuple[Fix, ...] = field(default_factory=tuple)
    torch_message: str = ""

    def hint(self) -> Message:
        """Return the reason and the fixes as one line, for an error message (a Message: it translates)."""
        fixes = [fix.description for fix in self.fixes]
        if len(fixes) > 1:
            items = [msg("doctor.hint.item", number=n, fix=text) for n, text in enumerate(fixes, 1)]
            listed = items[-1]
            for item in reversed(items[:-1]):  # "(1) a; (2) b; (3) c", one pair at a time
                listed = msg("doctor.hint.then", first=item, rest=listed)
            return msg("doctor.hint.many", reason=self.reason, fixes=listed)
        if fixes:
            return msg("doctor.hint.one", reason=self.reason, fix=fixes[0])
        return self.reason

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "layer_index": self.layer_index, "layer_name": self.layer_name, "layer_type": self.layer_type,
            "input_shape": list(self.input_shape), "expected": self.expected, "reason": self.reason,
            "fixes": [fix.to_dict() for fix in self.fixes], "torch_message": self.torch_message,
        }  # fmt: skip


def find_problem(site: FailureSite) -> Finding | None:
    """Return what is wrong with `site` by the registered rules, or None when they see nothing wrong.

    The input's dtype is checked first; a network fed an unbatched image gets the batch-dimension
    fix first, because later rules would otherwise fit each layer to the wrong shape.
    """
    finding = _wrong_dtype(site) or _class_rule(site)
    unbatched = _unbatched_input_fix(site)
    if finding is None or unbatched is None:
        return finding
    network_input = format_shape_tree(list(site.network_input or ()))
    reason = msg("doctor.no_batch", reason=finding.reason, input=network_input)
    return Finding(reason, finding.expected, (unbatched, *finding.fixes))


def diagnose(site: FailureSite) -> Diagnosis:
    """Return the diagnosis of `site`: the rules' finding, or torch's own message when none applies."""
    kind = type(site.module).__name__
    shape = format_shape_tree(list(site.input_shape))
    finding = find_problem(site) or Finding(
        msg("doctor.could_not_take", kind=kind, shape=shape, torch_message=site.torch_message),
        "—",
    )
    return Diagnosis(
        site.index,
        site.name or kind,
        kind,
        site.input_shape,
        finding.expected,
        finding.reason,
        finding.fixes,
        site.torch_message,
    )


def diagnose_failure(module: nn.Module, input_shape: ShapeTree, whole: WholeModel | None = None) -> Message | None:
    """Return the one-line fix for `module` failing on `input_shape` (outside a spec), or None.

    Inside a whole model (`whole`), the input is considered first: a corrected input with which the
    whole forward runs is the fix, and the layer rules are asked only when there is none. The line
    is a Message, so `inspector.core.i18n.localize` shows it in the page's language.
    """
    at_input = input_fix(whole) if whole is not None else None
    if at_input is not None:
        return at_input
    shape = _first_shape(input_shape)
    if shape is None:
        return None
    finding = find_problem(FailureSite(module, tuple(shape)))
    if finding is None:
        return None
    return Diagnosis(
        None, "", type(module).__name__, tuple(shape), finding.expected, finding.reason, finding.fixes
    ).hint()


def _class_rule(site: FailureSite) -> Finding | None:
    rule = rule_for(site.module)
    if rule is None or not site.input_shape:  # the rules read dimensions; a 0-dim input has none to read
        return None
    return rule(site)


def _first_shape(tree: ShapeTree) -> list[int] | None:
    if isinstance(tree, list) and all(isinstance(dim, int) for dim in tree):
        return tree
    if isinstance(tree, list) and tree:
        return _first_shape(tree[0])
    if isinstance(tree, dict) and tree:
        return _first_shape(next(iter(tree.values())))
    return None


def _wrong_dtype(site: FailureSite) -> Finding | None:
    if site.input_dtype is None or site.input_dtype.is_floating_point or isinstance(site.module, nn.Embedding):
        return None
    kind = type(site.module).__name__
    shape = format_shape_tree(list(site.input_shape))
    reason = msg("doctor.integers", kind=kind, shape=shape, dtype=str(site.input_dtype))
    fixes: tuple[Fix, ...] = ()
    network_dtype = site.network_input_dtype
    if network_dtype is not None and not resolve_dtype(network_dtype, floating_only=False).is_floating_point:
        fixes = (
            Fix(
                msg("doctor.fix.float"),
                (set_input(dtype=DType.FLOAT32.value),),
                "X = X.float()",
            ),
        )
    return Finding(reason, f"{format_shape_tree(list(site.input_shape))} of floats", fixes)


def _unbatched_input_fix(site: FailureSite) -> Fix | None:
    """Return the unsqueeze(0) fix when the spec's first layer took the input as unbatched (C, …).

    Only once a Flatten has run: on an unbatched input it merges the spatial dimensions but keeps
    the channels apart, which is what then fails; before that, the layers work unbatched.
    """
    if site.network_input is None or not any(p.layer_class is nn.Flatten for p in site.previous):
        return None
    first = BY_CLASS.get(site.previous[0].layer_class)
    if first is None or not first.spatial_ndim or len(site.network_input) != first.spatial_ndim + 1:
        return None
    batched = (1, *site.network_input)
    given, made = format_shape_tree(list(site.network_input)), format_shape_tree(list(batched))
    return Fix(
        msg("doctor.fix.unbatched_network", input=given, batched=made, layer=first.name),
        (set_input(batched),),
        "X = X.unsqueeze(0)",
    )
