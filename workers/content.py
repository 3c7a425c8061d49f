"""Deterministic content: the bytes a file of a given name and size holds.

The local server serves it, the disk workload writes it, and both sides can
compute its SHA-256 without having seen the other, so every byte is checked.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Iterator
from functools import lru_cache

BLOCK = 1 << 20  # 1 MiB: the repeating unit of every file


def seed_for(name: str) -> int:
    return zlib.crc32(name.encode())


@lru_cache(maxsize=16)
def block(seed: int) -> bytes:
    """1 MiB of pseudo-random bytes; not crypto, just incompressible and repeatable."""
    return random.Random(seed).randbytes(BLOCK)  # noqa: S311


@lru_cache(maxsize=16)
def head(seed: int, size: int) -> bytes:
    """The first ``size`` bytes of ``block(seed)``, made without the rest of the MiB.

    ``randbytes`` draws 32-bit words in order, so a draw of whole words is a prefix
    of the longer one. A 64 KB file thus costs ~0.1 ms to make, not the 2 ms of a
    whole block: 1 000 small downloads of as many names were the server's main cost.
    """
    words = -(-size // 4) * 4
    return random.Random(seed).randbytes(words)[:size]  # noqa: S311


def chunks(seed: int, size: int, chunk: int = BLOCK) -> Iterator[memoryview]:
    """The file's bytes, ``chunk`` at a time (zero-copy views of the block)."""
    if chunk <= 0 or chunk > BLOCK:
        raise ValueError("chunk must be in 1..BLOCK")
    view = memoryview(block(seed) if size >= BLOCK else head(seed, size))
    offset = 0
    while offset < size:
        start = offset % BLOCK
        n = min(chunk, size - offset, BLOCK - start)
        yield view[start : start + n]
        offset += n


def cycle(buffer: memoryview, size: int, chunk: int = BLOCK) -> Iterator[memoryview]:
    """``size`` bytes read from ``buffer`` again and again, ``chunk`` at a time: the chunks
    :func:`chunks` gives, when ``buffer`` holds the content's first bytes (a whole number
    of blocks, or at least ``size``). Zero-copy views of ``buffer``."""
    if chunk <= 0 or chunk > BLOCK:
        raise ValueError("chunk must be in 1..BLOCK")
    if not buffer and size:
        raise ValueError("an empty buffer holds no bytes to read")
    offset = 0
    while offset < size:
        start = offset % len(buffer)
        n = min(chunk, size - offset, BLOCK - offset % BLOCK, len(buffer) - start)
        yield buffer[start : start + n]
        offset += n


@lru_cache(maxsize=64)
def sha256(seed: int, size: int) -> str:
    h = hashlib.sha256()
    for part in chunks(seed, size):
        h.update(part)
    return h.hexdigest()
