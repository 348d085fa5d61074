"""sgfkit bundled plugin: stylegan2."""
