"""Write a :class:`~ce_cli.families.softmax.derivation.Derivation` as a worked derivation (Rich) or as JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from ce_cli import records
from ce_cli.formulas import REFERENCE, REGISTRY
from ce_cli.log_sum_exp import EXP_OVERFLOW
from ce_cli.render import RenderOptions, Writer
from ce_cli.render.numbers import (
    format_number,
    index_text,
    json_number,
    json_values,
    significant_column_format,
    write_json_line,
)
from ce_cli.render.tables import fits, make_console

# the per-class working's (significant digits, outer edge): the first whose table fits the width is printed
LAYOUTS = ((10, True), (7, True), (7, False), (5, False))

if TYPE_CHECKING:  # imported by the commands that need them: not at start-up
    from rich.table import Table

    from ce_cli.families.softmax.derivation import Derivation


def _n(value: float) -> str:
    """Ten significant digits for the working; NaN and infinities spelled out."""
    value = float(value)
    return f"{value:.10g}" if math.isfinite(value) else format_number(value)


def _json_value(value: Any) -> Any:
    """A derivation's value in strict JSON: arrays as nested lists, non-finite numbers spelled out."""
    if isinstance(value, np.ndarray):
        return json_values(value)
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {key: _json_value(v) for key, v in value.items()}
    return value  # None, bool, int


def derivation_json(d: Derivation) -> dict[str, Any]:
    """Every intermediate value, keyed by the derivation's attribute names, in their order."""
    return {name: _json_value(getattr(d, name)) for name in records.fields(d)}


def write_json(d: Derivation, stream: TextIO, options: RenderOptions) -> None:
    """One strict-JSON object on one line."""
    write_json_line(derivation_json(d), stream)


def _steps(d: Derivation) -> list[tuple[str, str]]:
    """``(formula, value)`` lines of the working, in order."""
    steps = [
        ("m = max(x)", _n(d.max)),
        ("S = Σ exp(x - m)", _n(d.sum_exp)),
        (
            "logsumexp(x) = m + log S",
            f"{_n(d.max)} + {_n(math.log(d.sum_exp) if d.sum_exp > 0 else -math.inf)} = {_n(d.logsumexp)}",
        ),
    ]
    if d.ignored:
        steps.append(("target", f"{d.target} is the ignore index: loss 0, left out of the mean's denominator"))
        return steps
    if d.target is not None and d.target_logit is not None and d.nll is not None:
        steps += [
            (f"x[t] = x[{d.target}]", _n(d.target_logit)),
            ("loss = logsumexp(x) - x[t]", f"{_n(d.logsumexp)} - {_n(d.target_logit)} = {_n(d.nll)}"),
            (
                "NLL = -log_softmax(x)[t]",
                f"-({_n(d.log_softmax[d.target])}) = {_n(-d.log_softmax[d.target])}, the same in two steps",
            ),
        ]
        if d.weight is not None:
            steps.append((f"weighted: w[t] · NLL = {_n(d.weight[d.target])} · {_n(d.nll)}", _n(d.weighted_nll or 0.0)))
        if d.smoothing_term is not None:
            wnll = d.weighted_nll if d.weighted_nll is not None else d.nll
            e = d.label_smoothing
            steps.append(
                (
                    "smoothed: (1 - E) · w[t] · NLL + (E / C) · Σ_c w_c · (-log p_c)",
                    f"{_n(1 - e)} · {_n(wnll)} + {_n(d.smoothing_term)} = {_n(d.loss)}",
                )
            )
    else:
        steps.append(("loss = -Σ_c w_c · t_c · log p_c", f"{_n(d.loss)} (probability targets, column t)"))
    steps.append(("loss", format_number(d.loss)))
    plain = d.target is not None and d.weight is None and d.label_smoothing == 0.0
    gradient = "softmax(x) - onehot(t)" if plain else "Σ_c v_c · softmax(x) - v, where loss = Σ_c v_c · (-log p_c)"
    steps.append(("d loss / d x", f"{gradient} (the last column)"))
    return steps


def _formulas_table(d: Derivation) -> Table:
    """Every formula's loss for this sample (their verdicts follow the table, one line each)."""
    from rich.table import Table

    table = Table(title="every formula on this sample", title_justify="left")
    table.add_column("formula")
    if d.target is not None:
        table.add_column("-log p[t]")
    table.add_column("loss", justify="right", no_wrap=True)
    for name, loss in d.formulas.items():
        expression = [REGISTRY[name].per_sample] if d.target is not None else []
        table.add_row(name, *expression, _n(loss))
    return table


def _class_table(d: Derivation, title: str, shown: list[int], digits: int, edge: bool) -> Table:
    """The per-class working, each column in ``digits`` significant digits (``edge``: the box's outer edge)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=edge)
    headers = ["class", "x", "x - m", "exp(x - m)", "softmax p", "log p", "d loss/dx"]
    if d.target_distribution is not None:
        headers.insert(1, "t")
    if d.weight is not None:
        headers.insert(1, "w")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    columns = [v for v in (d.weight, d.target_distribution) if v is not None]
    columns += [d.logits, d.shifted, d.exp_shifted, d.softmax, d.log_softmax, d.gradient]
    spell = [significant_column_format(np.asarray(v)[list(shown)], digits) for v in columns]  # a format per column
    for c in shown:
        row = [f"{c} ◀" if c == d.target else str(c)]
        row += [fmt(v[c]) for fmt, v in zip(spell, columns, strict=True)]
        table.add_row(*row)
    return table


def write_text(d: Derivation, stream: TextIO, options: RenderOptions) -> None:
    """The derivation as a person would work it on paper: a per-class table, then the steps."""
    from rich.table import Table

    console = make_console(stream)
    classes = d.logits.shape[0]
    what = "probability targets" if d.target is None else f"target class {d.target}"
    console.print(f"sample {index_text(d.sample)}{options.named(d.sample)}: {what}, C = {classes} classes")

    shown = d.shown_classes(max(1, options.max_rows))
    elided = classes - len(shown)
    title = "per class (◀ marks the target; x: the logits, m = max x, p = softmax(x))"
    if elided:
        title = f"per class (◀ marks the target): the target and the largest logits, {elided} classes not shown"
    for digits, edge in LAYOUTS:  # ten significant digits where they fit, fewer on a narrower terminal
        table = _class_table(d, title, list(shown), digits, edge)
        if fits(console, table):
            break
    console.print(table)

    steps = Table(title="steps", title_justify="left", show_header=False)
    steps.add_column()
    steps.add_column()
    for formula, value in _steps(d):
        steps.add_row(formula, value)
    console.print(steps)

    if not d.ignored:
        console.print(_formulas_table(d))
        for name, verdict in d.verdicts.items():
            console.print(f"{name}: {verdict}" if name == REFERENCE else f"{name} against {REFERENCE}: {verdict}")
        naive = d.formulas.get("naive")
        if d.target is not None and naive is not None:
            console.print(
                f"the often-copied loop adds -log q[t] once per class: C · naive = {classes} · {_n(naive)} = "
                f"{_n(classes * naive)} for this sample"
            )
    if d.target is not None and d.nll is not None:
        console.print(
            f"the model's probability of the target is softmax(x)[t] = {_n(d.softmax[d.target])}, "
            f"and -log of that is the NLL, {_n(d.nll)}: x are logits (raw scores), not probabilities."
        )
    if d.unshifted_overflows:
        top = d.largest_logit
        console.print(
            f"without the shift, exp(x) overflows: exp({_n(top)}) is inf in float64 (beyond {EXP_OVERFLOW:.2f}), "
            "so log Σ exp(x) would be inf and the loss inf or NaN; shifting by m keeps every term in [0, 1]."
        )


WRITERS: Mapping[str, Writer[Derivation]] = {"table": write_text, "json": write_json}
