"""Zip members and ``.npy`` headers read without reading their data (``.npz`` files are zips).

A few kB of zip can declare gigabytes; these helpers read the zip directory and each array's
header only, so callers compare declared sizes, shapes and dtypes before decompressing.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import PurePosixPath

import numpy as np

from cnnlab.files.reading import InputError

ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def escapes(name: str) -> bool:
    """Whether a zip member's name would land outside the folder it is unpacked into: an
    absolute path, a ``..`` part, or a drive (``C:``) in its first part; ``\\`` counts as ``/``.

    Example:
        >>> escapes("cat/1.png"), escapes("cat/../../x"), escapes("/etc/x"), escapes("C:/x")
        (False, True, True, True)
    """
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.startswith(("/", "\\")) or ".." in parts or bool(parts and ":" in parts[0])


def check_member(info: zipfile.ZipInfo, where: str) -> None:
    """Refuse an encrypted member, or one compressed with anything but stored or deflate.

    Raises:
        InputError: ``"<where>: <member> is encrypted; ..."``.
    """
    if info.flag_bits & 0x1:
        raise InputError(f"{where}: {info.filename} is encrypted; use a zip without a password")
    if info.compress_type not in ZIP_METHODS:
        raise InputError(f"{where}: {info.filename} uses compression method "
                         f"{info.compress_type}; use stored or deflate (a plain zip)")


def npy_header(npz: zipfile.ZipFile, info: zipfile.ZipInfo,
               where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) an ``.npz`` member declares, reading its header only.

    The member's declared size must be exactly the header plus the data the header declares,
    so reading it later reads no more than that.

    Raises:
        InputError: encrypted or oddly compressed, not ``.npy``, an object dtype, or a size
            that does not match the header.
    """
    check_member(info, where)
    try:
        with npz.open(info) as member:  # reads a few hundred bytes
            version = np.lib.format.read_magic(member)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy version {version}")
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(member, max_header_size=10_000)
            offset = member.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
        raise InputError(f"{where}: {info.filename} is not a readable array ({exc})") from None
    if dtype.hasobject:
        raise InputError(f"{where}: {info.filename} holds Python objects; arrays of numbers only")
    if info.file_size != offset + dtype.itemsize * math.prod(shape):
        raise InputError(f"{where}: {info.filename} is {info.file_size:,} bytes, but its header "
                         f"declares {dtype} {shape}")
    return tuple(shape), dtype
