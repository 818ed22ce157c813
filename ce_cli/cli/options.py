"""The command line's options, declared once each: their flags, help text, panels and choices.

Choices come from the formula registry and the writer tables; Typer turns a
``Literal`` into a choice of exactly its values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

import typer

from ce_cli.errors import OptionError
from ce_cli.families import task_names
from ce_cli.families.softmax import render as compute_writers
from ce_cli.families.softmax import render_explain as explain_writers
from ce_cli.families.softmax.losses import REDUCTIONS
from ce_cli.formulas import FORMULAS, REGISTRY

INPUTS, FORMULA, PYTORCH, OUTPUT = "Inputs", "Formula", "PyTorch options", "Output"

if TYPE_CHECKING:
    FormulaName: TypeAlias = str
    ReductionName: TypeAlias = str
    TableFormat: TypeAlias = str
    ExplainFormat: TypeAlias = str
else:
    FormulaName = Literal[FORMULAS]
    ReductionName = Literal[REDUCTIONS]
    TableFormat = Literal[tuple(compute_writers.WRITERS)]
    ExplainFormat = Literal[tuple(explain_writers.WRITERS)]


def formula_help() -> str:
    described = [f"{spec.name} ({spec.summary})" for spec in REGISTRY.values()]
    return f"{', '.join(described[:-1])} or {described[-1]}."


def takes_probabilities() -> list[str]:
    return [spec.name for spec in REGISTRY.values() if spec.expects == "probabilities"]


LOGITS_OPTION = typer.Option(
    "--logits",
    "-l",
    metavar="SRC",
    help="Logits: a file (.npy .npz .csv .tsv .txt .safetensors .parquet .pt), a quoted glob of shards, "
    "'-' (stdin) or inline '0.1,0.5;0.2,0.3'.",
    rich_help_panel=INPUTS,
)
LogitsOption = Annotated[str, LOGITS_OPTION]
TargetsOption = Annotated[
    str | None,
    typer.Option(
        "--targets",
        "-t",
        metavar="SRC",
        help="Targets: class indices (or probabilities), in any SRC form.",
        rich_help_panel=INPUTS,
    ),
]
TargetColumnOption = Annotated[
    str | None,
    typer.Option(
        "--target-column",
        metavar="NAME|INDEX",
        help="Take the targets from this column of the logits table.",
        rich_help_panel=INPUTS,
    ),
]
DropColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--drop-columns",
        metavar="NAME,...",
        help="Leave these columns of the logits table out (header names or 0-based indices), such as an id column.",
        rich_help_panel=INPUTS,
    ),
]
LogitColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--logit-columns",
        metavar="NAME,...",
        help=(
            "Take the logits from exactly these columns of the logits table, in the file's order (header names "
            "or 0-based indices); no column is then refused as an id or a label."
        ),
        rich_help_panel=INPUTS,
    ),
]
IdColumnOption = Annotated[
    str | None,
    typer.Option(
        "--id-column",
        metavar="NAME|INDEX",
        help="A column of the logits table holding sample ids (any text), shown instead of the index.",
        rich_help_panel=INPUTS,
    ),
]
HeaderOption = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help=(
            "Whether text tables have a header row. By default a first row is a header if it is not all "
            "numbers, or if it is 0,1,...,k (pandas' column names) above a row that is not."
        ),
        show_default=False,
        rich_help_panel=INPUTS,
    ),
]
WeightOption = Annotated[
    str | None,
    typer.Option(
        "--weight", "-w", metavar="SRC", help="Class weights, length C, in any SRC form.", rich_help_panel=PYTORCH
    ),
]
IgnoreIndexOption = Annotated[
    int,
    typer.Option(
        "--ignore-index",
        help="Index targets equal to this contribute nothing (PyTorch's default).",
        rich_help_panel=PYTORCH,
    ),
]
SmoothingOption = Annotated[
    float,
    typer.Option("--label-smoothing", help="Label smoothing E in [0, 1].", rich_help_panel=PYTORCH),
]
ClassAxisOption = Annotated[
    int,
    typer.Option(
        "--class-axis",
        help="The class axis of the logits: 1 as in PyTorch, -1 for (batch, time, vocab).",
        rich_help_panel=PYTORCH,
    ),
]
FormulaOption = Annotated[
    FormulaName, typer.Option("--formula", metavar="NAME", help=formula_help(), rich_help_panel=FORMULA)
]
EpsOption = Annotated[
    str | None,
    typer.Option(
        "--eps",
        metavar="E|auto",
        help=(
            "Clip probabilities into [E, 1 - E] before the log, for the formulas that take probabilities "
            f"({', '.join(takes_probabilities())}); 'auto' uses the machine epsilon of the input's dtype, "
            "which gives sklearn.metrics.log_loss."
        ),
        rich_help_panel=FORMULA,
    ),
]
ReductionOption = Annotated[
    ReductionName, typer.Option("--reduction", help="The headline value: mean, sum or none.", rich_help_panel=PYTORCH)
]
NoWarningsOption = Annotated[
    bool, typer.Option("--no-warnings", help="Do not print warnings about the data.", rich_help_panel=OUTPUT)
]
TableFormatOption = Annotated[
    TableFormat,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="table (for people), json, csv or tsv (for scripts).",
        rich_help_panel=OUTPUT,
    ),
]
MaxRowsOption = Annotated[
    int,
    typer.Option(
        "--max-rows", min=0, metavar="N", help="Table rows shown before eliding the middle.", rich_help_panel=OUTPUT
    ),
]


def known_task(value: str) -> str:
    """The callback of :data:`TaskOption`: a family registered now (a choice Typer fixed at import could not
    see a family registered later)."""
    names = task_names()
    if value not in names:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(repr(name) for name in names)}.")
    return value


TaskOption = Annotated[
    str,
    typer.Option(
        "--task",
        metavar="TASK",
        callback=known_task,
        help=(
            "multiclass (a softmax per sample), binary (a sigmoid per element: binary, multi-label, masks) "
            "or distill (a student against a teacher)."
        ),
        rich_help_panel=FORMULA,
    ),
]
PosWeightOption = Annotated[
    str | None,
    typer.Option(
        "--pos-weight",
        metavar="SRC",
        help="With --task binary: the weight of positives, over the last axis (length L; one value for (N,)).",
        rich_help_panel=PYTORCH,
    ),
]
SUMMARY = "Evaluation summary"
ByClassOption = Annotated[
    bool,
    typer.Option(
        "--by-class",
        help="A row per class (label, for --task binary): count, mean loss, share of the loss, accuracy.",
        rich_help_panel=SUMMARY,
    ),
]
TopKOption = Annotated[
    str | None,
    typer.Option(
        "--top-k",
        metavar="K[,K...]",
        help="Top-k accuracy for each K (e.g. 1,5), and a rank column: 1 + classes with a larger logit.",
        rich_help_panel=SUMMARY,
    ),
]
WorstOption = Annotated[
    int,
    typer.Option(
        "--worst",
        min=0,
        metavar="K",
        help="Show the K highest-loss samples instead of the first and last.",
        rich_help_panel=SUMMARY,
    ),
]
PerSequenceOption = Annotated[
    bool,
    typer.Option(
        "--per-sequence",
        help="For (B, T) targets: each sequence's mean loss, perplexity and counted tokens.",
        rich_help_panel=SUMMARY,
    ),
]


def top_k_values(text: str | None) -> tuple[int, ...]:
    """``"1,5"`` as ``(1, 5)`` (sorted, without repeats); ``None`` as ``()``.

    Raises:
        OptionError: a value that is not a whole number.
    """
    if text is None:
        return ()
    values = []
    for part in text.split(","):
        try:
            values.append(int(part.strip()))
        except ValueError:
            raise OptionError(f"--top-k takes whole numbers separated by commas, like 1,5; got {text!r}") from None
    return tuple(sorted(set(values)))


def refuse_positional_files(values: list[str] | None) -> list[str]:
    """The callback of :data:`PositionalFiles`: positional arguments are a usage error that says what to do."""
    if values:
        shown = " ".join(repr(v) for v in values[:3]) + (" ..." if len(values) > 3 else "")
        raise typer.BadParameter(
            f"ce-loss reads files given with --logits and --targets, not as positional arguments ({shown}): "
            "pass them as --logits FILE --targets FILE; several shards as one input take a quoted glob, "
            "--logits 'shards/logits-*.npy'"
        )
    return []  # a list, never None: older Typer converts what the callback returns as a sequence


PositionalFiles = Annotated[
    list[str] | None,
    typer.Argument(hidden=True, callback=refuse_positional_files, show_default=False, metavar=""),
]

DISTILL = "Distillation (--task distill)"
TeacherOption = Annotated[
    str | None,
    typer.Option(
        "--teacher",
        metavar="SRC",
        help="The teacher's logits (or probabilities, log-probabilities: --teacher-form), in the logits' shape.",
        rich_help_panel=DISTILL,
    ),
]
TeacherIndicesOption = Annotated[
    str | None,
    typer.Option(
        "--teacher-indices",
        metavar="SRC",
        help="A top-k teacher: the class index of each of its k values, (N, k); see --sparse-teacher.",
        rich_help_panel=DISTILL,
    ),
]
TemperatureOption = Annotated[
    float,
    typer.Option(
        "--temperature",
        metavar="T",
        help="Soften both softmaxes: softmax(z / T); the soft loss is scaled by T^2.",
        rich_help_panel=DISTILL,
    ),
]
AlphaOption = Annotated[
    float,
    typer.Option(
        "--alpha",
        metavar="A",
        help="loss = A * soft + (1 - A) * hard (cross-entropy at the targets), A in [0, 1].",
        rich_help_panel=DISTILL,
    ),
]
DivergenceOption = Annotated[
    str,
    typer.Option(
        "--divergence",
        metavar="D",
        help="forward_kl: KL(teacher || student), the standard KD; reverse_kl: KL(student || teacher); "
        "js: Jensen-Shannon.",
        rich_help_panel=DISTILL,
    ),
]
TeacherFormOption = Annotated[
    str,
    typer.Option(
        "--teacher-form", metavar="FORM", help="logits, probabilities or log_probabilities.", rich_help_panel=DISTILL
    ),
]
SparseTeacherOption = Annotated[
    str | None,
    typer.Option(
        "--sparse-teacher",
        metavar="HOW",
        help="With --teacher-indices: renormalize (both distributions over the k classes) or rest (a bucket "
        "for the missing mass).",
        rich_help_panel=DISTILL,
    ),
]

ConventionOption = Annotated[
    str,
    typer.Option(
        "--convention",
        metavar="NAME",
        help="Whose loss: pytorch, keras, keras-tf, tf-v1, optax, sklearn, fairseq or transformers-causal-lm, "
        "each as that framework computes it.",
        rich_help_panel=FORMULA,
    ),
]
SampleWeightOption = Annotated[
    str | None,
    typer.Option(
        "--sample-weight",
        metavar="SRC",
        help="One weight per sample; each convention divides as its framework does (PyTorch: sum(w*l)/sum(w)).",
        rich_help_panel=PYTORCH,
    ),
]

OptionalLogitsOption = Annotated[str | None, LOGITS_OPTION]  # where --logprobs may stand instead
LOGPROBS = "Log-probabilities (instead of logits)"
LogprobsOption = Annotated[
    str | None,
    typer.Option(
        "--logprobs",
        metavar="SRC",
        help="Per-token log-probabilities of the targets, JSON Lines (OpenAI, vLLM or arrays), one sequence a line.",
        rich_help_panel=LOGPROBS,
    ),
]
LogprobsFormatOption = Annotated[
    str,
    typer.Option(
        "--logprobs-format",
        metavar="FORMAT",
        help="auto, openai-chat, openai-completions, vllm, plain, or lm-eval (a --log_samples file).",
        rich_help_panel=LOGPROBS,
    ),
]
WordsOption = Annotated[
    str | None,
    typer.Option("--words", metavar="SRC", help="Words per sequence, for word perplexity.", rich_help_panel=LOGPROBS),
]
BytesOption = Annotated[
    str | None,
    typer.Option(
        "--bytes", metavar="SRC", help="UTF-8 bytes per sequence, for byte perplexity.", rich_help_panel=LOGPROBS
    ),
]
