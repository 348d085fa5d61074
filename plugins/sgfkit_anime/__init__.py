"""sgfkit bundled plugin: anime."""
