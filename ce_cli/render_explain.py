"""Write a :class:`~ce_cli.explain.Derivation` as a worked derivation (Rich) or as JSON."""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

from ce_cli.explain import EXP_OVERFLOW, Derivation
from ce_cli.render import format_number, index_text, json_number, json_values, make_console


def _n(value: float) -> str:
    """Ten significant digits for the working; NaN and infinities spelled out."""
    value = float(value)
    return f"{value:.10g}" if math.isfinite(value) else format_number(value)


def derivation_json(d: Derivation) -> dict[str, Any]:
    """Every intermediate value; arrays are per class, non-finite numbers spelled as strings."""

    def optional(value: float | None) -> Any:
        return None if value is None else json_number(value)

    def optional_array(value: Any) -> Any:
        return None if value is None else json_values(value)

    return {
        "sample": list(d.sample),
        "target": d.target,
        "target_distribution": optional_array(d.target_distribution),
        "ignored": d.ignored,
        "logits": json_values(d.logits),
        "max": json_number(d.maximum),
        "shifted": json_values(d.shifted),
        "exp_shifted": json_values(d.exp_shifted),
        "sum_exp": json_number(d.sum_exp),
        "logsumexp": json_number(d.logsumexp),
        "target_logit": optional(d.target_logit),
        "nll": optional(d.nll),
        "log_softmax": json_values(d.log_probs),
        "softmax": json_values(d.probs),
        "weight": optional_array(d.weight),
        "label_smoothing": d.label_smoothing,
        "weighted_nll": optional(d.weighted_nll),
        "smoothing_term": optional(d.smoothing_term),
        "coefficients": json_values(d.coefficients),
        "loss": json_number(d.loss),
        "gradient": json_values(d.gradient),
        "naive_loss": optional(d.naive_loss),
    }


def write_json(d: Derivation, stream: TextIO) -> None:
    """One strict-JSON object on one line."""
    stream.write(json.dumps(derivation_json(d), allow_nan=False) + "\n")


def _steps(d: Derivation) -> list[tuple[str, str]]:
    """``(formula, value)`` lines of the working, in order."""
    steps = [
        ("m = max(x)", _n(d.maximum)),
        ("S = Σ exp(x - m)", _n(d.sum_exp)),
        (
            "logsumexp(x) = m + log S",
            f"{_n(d.maximum)} + {_n(math.log(d.sum_exp) if d.sum_exp > 0 else -math.inf)} = {_n(d.logsumexp)}",
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
                f"-({_n(d.log_probs[d.target])}) = {_n(-d.log_probs[d.target])}, "
                "the same in two steps (log_softmax_nll)",
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


def write_text(d: Derivation, stream: TextIO) -> None:
    """The derivation as a person would work it on paper: a per-class table, then the steps."""
    from rich.table import Table

    console = make_console(stream)
    classes = d.logits.shape[0]
    what = "probability targets" if d.target is None else f"target class {d.target}"
    console.print(f"sample {index_text(d.sample)}: {what}, C = {classes} classes")

    table = Table(title="per class (◀ marks the target)", title_justify="left")
    headers = ["class", "x (logits)", "x - m", "exp(x - m)", "softmax p", "log_softmax", "d loss/dx"]
    if d.target_distribution is not None:
        headers.insert(1, "t")
    if d.weight is not None:
        headers.insert(1, "w")
    for header in headers:
        table.add_column(header, justify="right")
    for c in range(classes):
        row = [f"{c} ◀" if c == d.target else str(c)]
        if d.weight is not None:
            row.append(_n(d.weight[c]))
        if d.target_distribution is not None:
            row.append(_n(d.target_distribution[c]))
        row += [_n(v[c]) for v in (d.logits, d.shifted, d.exp_shifted, d.probs, d.log_probs, d.gradient)]
        table.add_row(*row)
    console.print(table)

    steps = Table(title="steps", title_justify="left", show_header=False)
    steps.add_column()
    steps.add_column()
    for formula, value in _steps(d):
        steps.add_row(formula, value)
    console.print(steps)

    if d.naive_loss is not None and d.target is not None:
        console.print(
            f"naive: -log q[t] = -log({_n(d.logits[d.target])}) = {_n(d.naive_loss)}. It takes x as probabilities q; "
            f"x are logits, so the model's probability of the target is softmax(x)[t] = {_n(d.probs[d.target])}, "
            f"and -log of that is the loss, {_n(d.nll if d.nll is not None else d.loss)}."
        )
    if d.unshifted_overflows:
        top = d.largest_logit
        console.print(
            f"without the shift, exp(x) overflows: exp({_n(top)}) is inf in float64 (beyond {EXP_OVERFLOW:.2f}), "
            "so log Σ exp(x) would be inf and the loss inf or NaN; shifting by m keeps every term in [0, 1]."
        )
