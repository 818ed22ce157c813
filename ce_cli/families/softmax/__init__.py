"""The softmax family: ``cross_entropy`` over C classes per sample (``--task multiclass``).

``family.py`` is the :class:`~ce_cli.families.protocol.Family` it makes; ``stats.py``
its accumulators. Nothing is imported here, so that its parts import each other
without a cycle.
"""
