"""64-bit hashing helpers shared by duplicate marking (:mod:`toxlink.exports`), the profile's
pair sets (:mod:`toxlink.features.profile`) and the roll-up (:mod:`toxlink.policy`).

The hashes only order and group keys; every user confirms equal hashes on the values
themselves, so a collision costs a slower path, never a wrong result.
"""

import numpy as np

#: Odd 64-bit multiplier (2**64 / golden ratio) for combining hashes.
MUL64 = np.uint64(0x9E3779B97F4A7C15)


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser of each uint64 of *h*: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(0xBF58476D1CE4E5B9)
        h = h ^ (h >> np.uint64(27))
        h = h * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))
