"""Every value the synth-flowers caption grammar can name, per fact (shared by the caption tests)."""
from __future__ import annotations

from sgfkit_synthetic import captions

VALUES = {
    "petal_color": captions.PETAL_COLORS + [["red", "purple"], ["yellow", "orange"], ["white", "blue"]],
    "petal_shape": captions.PETAL_SHAPES,
    "petal_size": ["small", "medium", "large"], "petal_count": [5, 6, 7, 8, 9],
    "center_color": captions.CENTER_COLORS, "center_size": ["small", "medium", "large"],
    "background": captions.BACKGROUNDS,
}
