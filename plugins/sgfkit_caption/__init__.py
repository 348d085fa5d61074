"""sgfkit bundled plugin: caption."""
