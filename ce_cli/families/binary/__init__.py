"""The binary family: every element its own sigmoid problem (``--task binary``), as
``torch.nn.functional.binary_cross_entropy_with_logits``.

``forms.py`` (the loss's element-wise forms), ``inputs.py`` (validate), ``report.py``
(evaluate block by block, the report), ``derivation.py`` (one element), ``render.py``
(its writers), ``stats.py`` (its accumulators), and ``family.py`` (the
:class:`~ce_cli.families.protocol.Family` they make). Nothing is imported here, so
that its parts import each other without a cycle.
"""
