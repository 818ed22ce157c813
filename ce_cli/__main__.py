"""``python -m ce_cli``: the same as the ``ce-loss`` command."""

from ce_cli.entry_point import main

if __name__ == "__main__":
    main()
