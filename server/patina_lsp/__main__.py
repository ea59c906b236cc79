"""`python -m patina_lsp`: the same entry point as the `patina` command."""

from patina_lsp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
