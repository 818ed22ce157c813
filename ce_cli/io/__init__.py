"""Reading inputs (every SRC form, then validation) and writing the ``--output`` file."""
