"""Every value the synth-flowers caption grammar can name, per fact (shared by the caption tests)."""
from __future__ import annotations

from sgfkit_synthetic.captions import FACT_VALUES as VALUES

__all__ = ["VALUES"]
