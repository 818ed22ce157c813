"""``ce-loss diff``'s defaults, apart from the modules that compute, so that the command line reads them
without importing those."""

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95
