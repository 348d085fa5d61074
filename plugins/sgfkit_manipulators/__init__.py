"""sgfkit bundled plugin: manipulators."""
