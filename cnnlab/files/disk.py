"""Disk use as the disk sees it: allocated blocks and entries (inodes), not file sizes.

``st_size`` misses what fills a disk: a one-byte file takes a whole block (4 kB on ext4),
and 100,000 empty files take no block at all but 100,000 inodes. So a file's cost is its
``st_blocks * 512`` bytes and one entry, and a file still to be written is estimated as its
size rounded up to the file system's block (:func:`file_cost`).

Example:
    >>> file_cost(1, 4096), file_cost(0, 4096), file_cost(4097, 4096)
    (4096, 0, 8192)
    >>> Usage(4096, 2) + Usage(8192, 1) - Usage(4096, 1)
    Usage(bytes=8192, files=2)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

BLOCK_DEFAULT = 4096  # ext4's, and what a file system that cannot say is assumed to use
ENTRIES_PER_FOLDER_BLOCK = 64  # a folder's listing takes a block per this many names, or fewer


@dataclass(frozen=True)
class Usage:
    """What some files take on disk.

    Attributes:
        bytes: allocated bytes (``st_blocks * 512``, or an estimate in whole blocks).
        files: entries: files, folders and links (each takes an inode).
    """

    bytes: int = 0
    files: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.bytes + other.bytes, self.files + other.files)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.bytes - other.bytes, self.files - other.files)

    def at_least_zero(self) -> Usage:
        return Usage(max(self.bytes, 0), max(self.files, 0))

    @property
    def megabytes(self) -> float:
        return self.bytes / 2**20


def block_bytes(path: str | os.PathLike[str]) -> int:
    """The allocation unit of the file system holding ``path`` (or its nearest existing
    parent), from ``os.statvfs``; :data:`BLOCK_DEFAULT` where the system cannot say."""
    for candidate in (Path(path), *Path(path).parents):
        try:
            info = os.statvfs(candidate)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, AttributeError):
            break
        return int(info.f_frsize or info.f_bsize or BLOCK_DEFAULT)
    return BLOCK_DEFAULT


def file_cost(size: int, block: int) -> int:
    """Bytes a file of ``size`` bytes takes: whole blocks (an empty file takes none)."""
    return -(-max(size, 0) // block) * block


def folder_cost(entries: int, block: int) -> int:
    """Bytes a folder listing ``entries`` names takes (an estimate: one block, and one more
    per :data:`ENTRIES_PER_FOLDER_BLOCK` names)."""
    return block * (1 + entries // ENTRIES_PER_FOLDER_BLOCK)


def new_folder(sizes: Collection[int], block: int) -> Usage:
    """What a new folder holding files of these ``sizes`` takes: the files in whole blocks,
    the folder's listing, and an entry each (the folder's own included)."""
    return Usage(sum(file_cost(size, block) for size in sizes) + folder_cost(len(sizes), block),
                 len(sizes) + 1)


def measure(path: str | os.PathLike[str], skip: Collection[str] = ()) -> Usage:
    """What ``path`` and everything under it take (``path`` itself included); ``Usage()``
    when it does not exist. Links are counted, never followed; ``skip`` names entries directly
    inside ``path`` that are not counted. Walks the tree: for a sub-folder that just changed,
    or a repair, not on every page."""
    top = Path(path)
    try:
        info = os.lstat(top)
    except (FileNotFoundError, NotADirectoryError):
        return Usage()
    used, files = info.st_blocks * 512, 1
    folders = [top] if stat.S_ISDIR(info.st_mode) else []
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed while we looked
        for entry in entries:
            if folder == top and entry.name in skip:
                continue
            try:
                found = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            used, files = used + found.st_blocks * 512, files + 1
            if stat.S_ISDIR(found.st_mode):
                folders.append(Path(entry.path))
    return Usage(used, files)
