"""Validated inputs of the binary family: every element of the input its own binary problem. Pure numpy.

Shapes as PyTorch's ``binary_cross_entropy_with_logits`` takes them: the input
of any shape (``(N,)`` for a binary classifier, ``(N, L)`` for ``L`` labels,
``(N, L, d1, ...)`` for masks), the target of the same shape (0/1 or soft in
[0, 1]), the weight broadcast against the input, the positive weight broadcast
over the last axis.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ce_cli.arguments import real_array
from ce_cli.array_types import Float64Array
from ce_cli.families.binary.forms import broadcast_option, check_targets
from ce_cli.layout import ElementRows, LeadingReader
from ce_cli.records import frozen

Task = Literal["multiclass", "binary"]
TASKS: tuple[Task, ...] = get_args(Task)


@frozen
class BinaryInputs:
    """Validated binary inputs, flattened to elements in C order.

    Attributes:
        values: ``(M, 1)`` the input's elements (logits or probabilities) in their dtype,
            made block by block where the input is a file.
        targets: ``(M,)`` targets in [0, 1], in their floating dtype (float64 unless given in another).
        weight: ``(M,)`` float64 weights (broadcast), or ``None``.
        pos_weight: ``(M,)`` float64 positive weights (broadcast), or ``None``.
        shape: the input's shape.
        name: how messages name the input.
        targets_checked: whether the targets' range was checked; if not, the evaluation checks it
            as it reads them (:func:`ce_cli.families.binary.report.build_binary_report`).
        targets_name: how messages name the targets.
    """

    values: Any
    targets: NDArray[np.floating[Any]]
    weight: Float64Array | None
    pos_weight: Float64Array | None
    shape: tuple[int, ...]
    name: str = "logits"
    targets_checked: bool = True
    targets_name: str = "targets"

    @property
    def logits_shape(self) -> tuple[int, ...]:
        """The input's shape (named as the softmax family's inputs name it)."""
        return self.shape

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of the per-element losses: the input's."""
        return self.shape

    @property
    def num_elements(self) -> int:
        return int(self.targets.size)

    @property
    def positives(self) -> int:
        """Elements whose target is 1 (at least 0.5, for soft targets)."""
        return int(np.count_nonzero(self.targets >= 0.5))


def _flat(value: Float64Array | None) -> Float64Array | None:
    return None if value is None else np.ascontiguousarray(value).reshape(-1)


def validate_binary(
    logits: Any,
    targets: Any,
    *,
    weight: Any = None,
    pos_weight: Any = None,
    names: tuple[str, str, str, str] = ("logits", "targets", "weight", "pos_weight"),
    check_range: bool = True,
) -> BinaryInputs:
    """Check the binary family's inputs with PyTorch's rules and flatten them to elements.

    ``check_range=False`` leaves the targets' range to :func:`ce_cli.families.binary.report.build_binary_report`,
    which checks it in the same pass as the losses (one read of the targets, not two); only that
    function may take such inputs.

    Raises:
        InputError: values that are not real numbers. ShapeError: targets not of the input's
        shape, a weight or positive weight that does not broadcast. TargetError: targets outside [0, 1].
    """
    input_name, targets_name, weight_name, pos_weight_name = names
    if isinstance(logits, LeadingReader) and logits.dtype.kind == "f":
        x: Any = logits  # a file read block by block
    else:
        x = real_array(logits, input_name)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
    shape = tuple(int(n) for n in x.shape)
    t = check_targets(real_array(targets, targets_name), shape, targets_name, check_range=check_range)
    w, pw = (
        None if value is None else broadcast_option(real_array(value, name), shape, name, how)
        for value, name, how in (
            (weight, weight_name, "as PyTorch broadcasts the weight against the input"),
            (pos_weight, pos_weight_name, "over the last axis, as PyTorch broadcasts it"),
        )
    )
    values: NDArray[Any] | ElementRows = x.reshape(-1, 1) if isinstance(x, np.ndarray) else ElementRows(x)
    return BinaryInputs(values, t.reshape(-1), _flat(w), _flat(pw), shape, input_name, check_range, targets_name)
