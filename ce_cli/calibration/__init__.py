"""Calibration: is the model's confidence honest? Pure numpy.

Each counted sample gives a confidence ``c_i`` and whether it was right ``r_i`` (what each family
gives: :mod:`ce_cli.families.softmax.calibration`, :mod:`ce_cli.families.binary.calibration`). The
samples are put into bins (:mod:`ce_cli.calibration.bins`); with each bin's mean confidence
``conf_b``, accuracy ``acc_b`` and share of the samples ``prop_b``
(torchmetrics' ``CalibrationError``, ``functional/classification/calibration_error.py``):

- ``ece = sum_b prop_b |acc_b - conf_b|`` (``norm="l1"``),
- ``rmsce = sqrt(sum_b prop_b (acc_b - conf_b)^2)`` (``norm="l2"``),
- ``mce = max_b |acc_b - conf_b|`` (``norm="max"``, an empty bin counting 0),

and ``brier``, scikit-learn 1.9's ``brier_score_loss``: the mean over the samples of
``sum_c (y_c - p_c)^2``, halved where there are two classes (binary: ``(y - p)^2``).

The per-bin sums are accumulators that merge exactly (:class:`~ce_cli.calibration.sums.BinSums`), so
blocks, shards and ``ce-loss pool`` give what one run gives. :mod:`ce_cli.calibration.interval` gives
a bootstrap interval for the ECE, and :mod:`ce_cli.calibration.temperature` fits a temperature.
The modules are imported by name (this package imports nothing, so the command line starts fast).
"""
