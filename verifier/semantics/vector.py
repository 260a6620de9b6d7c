"""SIMD lane operations (`Iop_Add32x4`, `Iop_CmpGT8Sx16`, ...), decoded from the op's name.

Nothing is decoded yet: every lane op is NotModelled (see ops.py).
"""

from __future__ import annotations

from typing import Callable


def decode(op: str) -> Callable | None:
    """A Z3 function for the VEX vector op `op`, or None when it is not modelled."""
    return None
