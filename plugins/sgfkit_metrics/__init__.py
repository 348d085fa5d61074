"""sgfkit bundled plugin: metrics."""
