"""Wire messages mangled at random, for tests that decoders raise device errors only, whatever arrives."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


def mangled(samples: Sequence[bytes], *, seed: int, count: int = 3000, max_edits: int = 2) -> Iterator[bytes]:
    """``count`` messages, each a sample with up to ``max_edits`` bytes replaced or inserted, one in five of
    them cut short too (reproducible)."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(0, max_edits)):
            position = rng.randrange(len(data))
            data[position : position + rng.randint(0, 1)] = bytes([rng.randrange(256)])
        if rng.random() < 0.2:
            del data[rng.randrange(len(data)) :]
        yield bytes(data)
