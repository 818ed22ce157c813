"""The distillation family (``--task distill``): a student scored against a teacher; see ``family.py``."""
