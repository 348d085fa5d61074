"""sgfkit bundled plugin: synthetic."""
