"""Hook implementations of the synthetic plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl  # noqa: F401
