"""Fixtures of the prompt tests: SMAC import setup and small offline tokenizers."""
from __future__ import annotations

import os

# pysc2's generated protobuf modules need the pure-Python protobuf with a current protobuf.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
