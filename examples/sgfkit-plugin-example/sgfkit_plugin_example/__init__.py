"""An example third-party sgfkit plugin: the ``region-colour`` condition encoder."""

__version__ = "0.1.0"
