"""``python -m ce_cli``: the same as the ``ce-loss`` command."""

from ce_cli.cli import main

if __name__ == "__main__":
    main()
