"""What the command line says on stderr: errors with the option that fixes them, warnings about the data.

The domain modules raise errors and return facts; this is where they are worded
for a person at a shell, flags included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import assert_never

import typer

from ce_cli.data_warnings import (
    DataWarning,
    EveryTargetIgnored,
    MultiHotTargets,
    NonFiniteLogits,
    NotProbabilities,
    OneSampleAssumed,
    PosWeightLeftOut,
    ProbabilitiesGivenAsLogits,
    SigmoidGivenProbabilities,
    TargetsNotDistributions,
    TeacherForm,
    ZeroProbabilities,
)
from ce_cli.errors import (
    CellError,
    CeLossError,
    ClassAxisError,
    ColumnChoiceError,
    CompressedInputError,
    IntegerProbabilityTargetError,
    OneClassTargetError,
    StrayColumnError,
    SummaryRequestError,
)
from ce_cli.families.softmax.inputs import DEFAULT_CLASS_AXIS
from ce_cli.io.inputs import HeaderWithNumbers, InputNotice, SourcesRead
from ce_cli.io.provenance import ReadRecord


def say(line: str) -> None:
    """One line on stderr, ``ce-loss: `` first; a line end inside (a path that holds one) is written as ``\\n``,
    so that every message stays one line."""
    typer.echo("ce-loss: " + line.replace("\r", "\\r").replace("\n", "\\n"), err=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's errors into one line on stderr and their exit status; so too running out of
    memory (an input larger than this machine can hold whole), which is no bug."""
    EXPLAINED.clear()  # a run explains each note once (in-process runs, as tests make, start afresh)
    try:
        yield
    except CeLossError as error:
        say(f"error: {error_text(error)}{advice(error)}")
        raise typer.Exit(error.exit_code) from None
    except MemoryError as error:
        say(f"error: out of memory: {error or 'an array did not fit'} (a smaller input, or -q, needs less)")
        raise typer.Exit(1) from None


def error_text(error: CeLossError) -> str:
    """An error's sentence, worded with the options that fix it where the error carries the facts."""
    match error:
        case StrayColumnError(label=label, column=name, reason=reason, label_like=label_like):
            if label_like:
                fix = (
                    f"take the targets from it with --target-column {name}, or leave it out with --drop-columns {name}"
                )
            else:
                fix = f"leave it out with --drop-columns {name}, or keep it as the samples' ids with --id-column {name}"
            return (
                f"{label}: column {name!r} would be read as a logit, but {reason}; {fix} "
                "(if it is a logit, name the logit columns with --logit-columns)"
            )
        case CompressedInputError(label=label, suffix=suffix, path=path, command=command):
            return (
                f"{label} is compressed ({suffix}), which ce-loss does not read; decompress it into a pipe: "
                f"{command} '{path}' | ce-loss compute --logits - ..."
            )
        case ColumnChoiceError(source=""):
            return (
                "--logit-columns names each logit column once, in the order of the file's columns "
                "(that order is the classes' order), and not the target or id column"
            )
        case ColumnChoiceError(option=option, source=source):
            flag = "--id-column" if option == "ids" else "--logit-columns"
            return f"{flag} names columns of a text table with a header; {source}"
        case SummaryRequestError(option="top_k", k=k, classes=classes):
            return f"--top-k {k} is out of range: there are {classes} classes, so K runs from 1 to {classes}"
        case SummaryRequestError(option="per_sequence", shape=shape):
            return (
                "--per-sequence needs targets of shape (B, T), a batch of sequences, "
                f"but these targets have shape {shape}; "
                "give logits (B, C, T) with (B, T) targets, or --class-axis -1 for (B, T, C)"
            )
        case _:
            return str(error)


def advice(error: CeLossError) -> str:
    """The option that fixes an error, where the error knows it."""
    if isinstance(error, OneClassTargetError):
        return "; one logit per sample is a binary classifier's: use --task binary"
    if isinstance(error, IntegerProbabilityTargetError):
        return (
            "; multi-label 0/1 targets take binary cross-entropy: --task binary; probability targets are "
            "written as floats (1.0, 0.0, or saved in a float dtype)"
        )
    if isinstance(error, CellError) and error.column:
        column = error.column
        return (
            f" (a column of text such as ids can be left out: --drop-columns {column}, or kept: --id-column {column})"
        )
    if isinstance(error, ClassAxisError):
        if error.fits == DEFAULT_CLASS_AXIS:
            return f": leave out --class-axis ({DEFAULT_CLASS_AXIS} is the default)"
        return f": use --class-axis {error.fits}"
    return ""


def warning_text(warning: DataWarning) -> str:
    """The sentence for a warning about the data, with the option that helps."""
    match warning:
        case TeacherForm(declared="logits", rows=rows):
            return (
                f"every one of the teacher's {rows} rows lies in [0, 1] and sums to 1, as probabilities do, but the "
                "teacher is declared as logits and softmax is applied to it again; if these are probabilities, "
                "use --teacher-form probabilities"
            )
        case TeacherForm(declared="probabilities", rows=rows, samples=samples):
            return (
                f"{rows} of the teacher's {samples} rows have values outside [0, 1] or do not sum to 1, so they are "
                "not probabilities; if the teacher gives logits, use --teacher-form logits"
            )
        case TeacherForm(rows=rows, samples=samples):
            return (
                f"{rows} of the teacher's {samples} rows hold values above 0, which log-probabilities never are; "
                "if the teacher gives logits, use --teacher-form logits"
            )
        case ProbabilitiesGivenAsLogits(formula=formula, instead=instead, zeros=zeros):
            clip = " --eps auto (some probabilities are 0)" if zeros else ""
            return (
                f"the logits look like probabilities (every row is in [0, 1] and sums to 1), but {formula} expects "
                f"logits (raw scores) and applies softmax to them again; if these are probabilities, "
                f"use --formula {instead}{clip}"
            )
        case SigmoidGivenProbabilities(formula=formula, instead=instead):
            return (
                f"the logits all lie in [0, 1], as probabilities do, but {formula} applies the sigmoid to them "
                f"again; if these are probabilities, use --formula {instead}"
            )
        case NotProbabilities(formula=formula, rows=rows, samples=samples, instead=instead):
            return (
                f"{formula} expects probabilities, but {rows} of {samples} rows have values outside [0, 1] "
                f"or do not sum to 1; for logits (raw scores) use --formula {instead}"
            )
        case ZeroProbabilities(affected=affected, samples=samples):
            return (
                f"{affected} of {samples} samples have probability 0 where their target is, so their loss is "
                "infinite; --eps auto clips probabilities into [eps, 1 - eps] as sklearn.metrics.log_loss does "
                "(or --eps E)"
            )
        case NonFiniteLogits(affected=affected, samples=samples, binary=True):
            return (
                f"{affected} of {samples} elements have NaN or infinite logits that make their loss NaN or infinite "
                "(computed as PyTorch's binary_cross_entropy_with_logits does: NaN gives NaN, +inf with target 0 "
                "gives +inf, any other infinite logit gives NaN)"
            )
        case NonFiniteLogits(affected=affected, samples=samples):
            return (
                f"{affected} of {samples} samples have NaN or infinite logits that make their loss NaN or "
                "infinite (computed as PyTorch does: NaN and +inf give NaN, a -inf target logit gives +inf)"
            )
        case MultiHotTargets(rows=rows, samples=samples):
            return (
                f"{rows} of {samples} target rows hold several 1s (multi-hot, as multi-label data has): "
                "cross-entropy over classes takes each row as one distribution, and these sum to more than 1; "
                "multi-label targets need binary cross-entropy, which this is not: use --task binary"
            )
        case TargetsNotDistributions(rows=rows, samples=samples, first_sum=first_sum):
            return (
                f"{rows} of {samples} probability-target rows do not sum to 1 (the first sums to {first_sum:.6g}); "
                "they are used as given, as PyTorch does, so the loss is not a cross-entropy between distributions"
            )
        case OneSampleAssumed(classes=classes):
            return (
                f"the logits are one vector of {classes} values, read as one sample over {classes} classes with "
                f"the targets as its probabilities; if these are {classes} samples with one logit each, that is "
                "binary classification: use --task binary"
            )
        case PosWeightLeftOut(formulas=formulas):
            takes, are = ("takes", "is") if len(formulas) == 1 else ("take", "are")
            return (
                f"--pos-weight weighs the positives of logits; {', '.join(formulas)} {takes} the inputs as "
                f"probabilities and {are} computed without it (binary_cross_entropy has no pos_weight)"
            )
        case EveryTargetIgnored(ignore_index=ignore_index):
            return (
                f"every target is the ignore index {ignore_index}: the mean is NaN (0/0) and the sum 0, as in PyTorch"
            )
        case _:
            assert_never(warning)


def warnings_last(lines: Iterable[str], silenced: bool) -> AbstractContextManager[None]:
    """Print ``lines`` (warnings) on stderr after the block that writes the results, even if it fails:
    on a terminal the last lines on screen are the warnings about the number printed, not the table."""

    @contextmanager
    def last() -> Iterator[None]:
        try:
            yield
        finally:
            if not silenced:
                for line in lines:
                    say(f"warning: {line}")

    return last()


def result_warnings(read: SourcesRead, warnings: Iterable[DataWarning]) -> list[str]:
    """The warnings of a run, worded: what the reading assumed, then what the data showed."""
    return [notice_text(n) for n in read.notices] + [warning_text(w) for w in warnings]


def _columns(names: tuple[str, ...]) -> str:
    """Column names for one line: all of a few, the ends of many (an empty name as ``""``)."""
    spelled = [name or '""' for name in names]
    if len(spelled) <= 6:
        return ",".join(spelled)
    return f"{spelled[0]},{spelled[1]},...,{spelled[-1]} ({len(spelled)} columns)"


EXPLAINED: set[str] = set()  # the notes this run has explained already: later sources name them in brief


def read_line(record: ReadRecord, *, quiet: bool = False) -> str:
    """What was taken from one source, in one line: its form and size, its header, each column's role
    (a note explained for an earlier source of the run is named in brief, and with ``quiet`` (-q) a note
    about nothing wrong, pandas' row index read as one, not at all)."""
    rows = f"{record.shape[0]} rows" if record.shape else "one value"
    facts = [record.form, rows]
    if record.header is not None:
        if record.header_rule == "pandas' column names 0..k":
            facts.append(f"header 0..{len(record.header) - 1}, pandas' default column names")
        else:
            facts.append(f"header {_columns(record.header)}")
    roles = []
    if record.index is not None and not quiet:
        brief = "pandas index" in EXPLAINED
        EXPLAINED.add("pandas index")
        roles.append(
            "first column read as the row index"
            if brief
            else "first column (unnamed, as pandas and R write the row index) read as the row index"
        )
    if record.logits is not None and record.role == "logits":
        roles.append(f"logits {_columns(record.logits)}")
    if record.targets is not None and record.role == "logits":
        roles.append(f"targets {_columns(record.targets)}")
    if record.ids is not None:
        roles.append(f"ids {record.ids}")
    if record.dropped:
        roles.append(f"left out {_columns(record.dropped)}")
    if record.note is not None:
        roles.append(record.note)
    return f"read {record.label} ({', '.join(facts)})" + (": " + "; ".join(roles) if roles else "")


def notice_text(notice: InputNotice) -> str:
    """The sentence for what reading the inputs assumed."""
    match notice:
        case HeaderWithNumbers(label=label, cell=cell):
            return (
                f"{label}: its first row was read as a header, but it mixes numbers with {cell!r}; "
                "if that row is data, correct that cell"
            )
        case _:
            assert_never(notice)
