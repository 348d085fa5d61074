"""sgfkit bundled plugin: progan."""
