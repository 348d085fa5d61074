"""sgfkit bundled plugin: face_attributes."""
