"""``python -m sgfkit``: the same CLI as the ``sgfkit`` command."""
from sgfkit.cli import main

if __name__ == "__main__":
    main()
