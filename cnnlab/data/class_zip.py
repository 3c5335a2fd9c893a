"""Class folders from a zip (an upload, or a drawn set downloaded earlier): the zip's directory is
checked before a byte is unpacked, and only then are its images written out.

Refused before unpacking (the whole zip, with a message naming the member): more members than
the limits allow, a member path that is absolute or climbs out with ``..``, a symbolic link or
other special file, an encrypted member or an unusual compression method, one image declaring
more than :attr:`Limits.max_file_bytes` unpacked, or all images together declaring more than
``max_bytes`` (the room left, e.g. a workspace's quota). Zipfile stops reading a member at its
declared size, so a member that lies about its size fails its check instead of filling the disk.
Members that are not ``.png``/``.jpg``/``.jpeg`` images are left packed. A zip whose images sit
in one top folder (``shapes/cat/1.png``) is read from that folder.

What unpacking will take on disk is known from the directory too (:func:`footprint`): every
image in whole blocks of the file system (a one-byte file takes a 4 kB block), every folder,
and an inode for each, so a caller's ``fits`` (a workspace's quota and file limit) refuses a
zip of 100,000 empty images before a single one is written. Messages name the zip by the
name its user gave it, never by a server path.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from cnnlab.data import class_folders, image_files, refs
from cnnlab.data.dataset import Dataset, DatasetError
from cnnlab.files import archives, disk

CHUNK = 1 << 16
Fits = Callable[[disk.Usage], None]  # raises to refuse what the zip would take on disk
Member = tuple[zipfile.ZipInfo, PurePosixPath]


def _checked_members(zf: zipfile.ZipFile, where: str, limits: class_folders.Limits,
                     max_bytes: int) -> list[Member]:
    infos = zf.infolist()
    max_members = limits.max_images + 2 * limits.max_classes + 16  # images, folders, a readme
    if len(infos) > max_members:
        raise DatasetError(f"{where} holds {len(infos):,} members; at most {max_members:,} are "
                           f"accepted ({limits.max_images:,} images)")
    chosen, total = [], 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if archives.escapes(name):
            raise DatasetError(f"{where}: the member {info.filename!r} points outside the zip's "
                               "folder (an absolute path or ..); make the zip from the folder "
                               "itself")
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            what = "a symbolic link" if kind == stat.S_IFLNK else "a special file"
            raise DatasetError(f"{where}: the member {info.filename!r} is {what}; a zip of class "
                               "folders holds folders and image files only")
        if info.is_dir() or not image_files.is_image_name(name):
            continue
        if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
            continue
        try:
            archives.check_member(info, where)
        except ValueError as exc:
            raise DatasetError(str(exc)) from None
        if info.file_size > limits.max_file_bytes:
            raise DatasetError(f"{where}: the member {info.filename!r} declares "
                               f"{info.file_size:,} bytes unpacked; an image may have at most "
                               f"{limits.max_file_bytes:,}")
        total += info.file_size
        chosen.append((info, PurePosixPath(*parts)))
    if total > max_bytes:
        raise DatasetError(f"{where}: its images declare {total:,} bytes unpacked; at most "
                           f"{max_bytes:,} bytes fit")
    if not chosen:
        raise DatasetError(f"{where} holds no .png, .jpg or .jpeg images; zip a folder with one "
                           "subfolder of images per class")
    return chosen


def footprint(members: list[Member], block: int) -> disk.Usage:
    """What unpacking ``members`` into a new folder takes: each file in whole ``block``-byte
    blocks, each folder (the new one included) by its listing, and an entry each.

    Example:
        >>> info = zipfile.ZipInfo("cat/1.png"); info.file_size = 1
        >>> footprint([(info, PurePosixPath("cat/1.png"))], 4096)  # file, cat/, the folder
        Usage(bytes=12288, files=3)
    """
    listings: Counter[PurePosixPath] = Counter()
    folders: set[PurePosixPath] = {PurePosixPath(".")}
    for _, path in members:
        listings[path.parent] += 1
        for parent in list(path.parents)[:-1]:  # every folder above the file, not "."
            if parent not in folders:
                folders.add(parent)
                listings[parent.parent] += 1
    size = sum(disk.file_cost(info.file_size, block) for info, _ in members)
    size += sum(disk.folder_cost(listings[folder], block) for folder in folders)
    return disk.Usage(size, len(members) + len(folders))


def class_root(folder: Path) -> Path:
    """``folder``, or the one folder inside it when it holds nothing else and has subfolders
    itself (``shapes/`` in a zip of ``shapes/cat/1.png``), repeatedly."""
    while True:
        entries = [e for e in folder.iterdir()
                   if not e.name.startswith(".") and e.name != "__MACOSX"]
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
            return folder
        if not any(e.is_dir() and not e.name.startswith(".") for e in entries[0].iterdir()):
            return folder
        folder = entries[0]


def _opened(source: str | os.PathLike[str] | bytes, where: str,
            limits: class_folders.Limits) -> zipfile.ZipFile:
    """The zip of a regular file or of bytes, its size checked first."""
    if isinstance(source, bytes):
        size = len(source)
    else:
        info = os.lstat(source)
        if not stat.S_ISREG(info.st_mode):
            raise DatasetError(f"{where} is not a regular file; give a zip file")
        size = info.st_size
    if size > limits.max_total_bytes:
        raise DatasetError(f"{where} is {size:,} bytes; at most {limits.max_total_bytes:,} are "
                           "accepted")
    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)


def unpack(source: str | os.PathLike[str] | bytes, target: str | os.PathLike[str],
           limits: class_folders.Limits | None = None, max_bytes: int | None = None, *,
           shown: str | None = None, fits: Fits | None = None) -> Path:
    """Unpack a zip of class folders into the new folder ``target``, checks first.

    Args:
        source: the zip file (a regular file, at most ``limits.max_total_bytes``) or its bytes.
        target: a folder that must not exist yet; made only when everything is unpacked.
        limits: the class-folder limits (:class:`class_folders.Limits` defaults when None).
        max_bytes: the most bytes the images may declare unpacked (default
            ``limits.max_total_bytes``).
        shown: the zip's name in messages (default its file name): the name the user gave
            (an upload's file name), never that of a temporary copy.
        fits: called with what unpacking will take on disk (:func:`footprint`, in the
            file system's blocks) before anything is written; raises to refuse the zip.
    Returns:
        The folder to load with :func:`class_folders.load_class_folder` (``target`` or the one
        top folder inside it).
    Raises:
        DatasetError: the zip is refused (see the module's docstring), or ``target`` exists;
            whatever ``fits`` raises.
    """
    limits = limits or class_folders.Limits()
    max_bytes = limits.max_total_bytes if max_bytes is None else min(max_bytes,
                                                                      limits.max_total_bytes)
    target = Path(target)
    default = "the upload" if isinstance(source, bytes) else Path(source).name
    where = f"the zip {shown or default}"
    if target.exists():
        raise DatasetError(f"a data set named {target.name!r} exists already; choose another "
                           "name")
    try:
        with _opened(source, where, limits) as zf:
            members = _checked_members(zf, where, limits, max_bytes)
            if fits is not None:
                fits(footprint(members, disk.block_bytes(target.parent)))
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
            try:
                for member, rel in members:
                    out = staging.joinpath(*rel.parts)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(out, "xb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
                os.replace(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise DatasetError(f"{where} is not a readable zip ({exc}); zip the folder again") from None
    except OSError as exc:
        raise DatasetError(f"cannot unpack {where}: {exc.strerror or exc}") from None
    return class_root(target)


def from_zip(zip_path: str | os.PathLike[str] | bytes, target: str | os.PathLike[str],
             ref: refs.DatasetRef, seed: int = 0, *,
             limits: class_folders.Limits | None = None, max_bytes: int | None = None,
             progress: class_folders.Progress | None = None, shown: str | None = None,
             fits: Fits | None = None) -> tuple[Dataset, list[str]]:
    """:func:`unpack` the zip into ``target``, then :func:`class_folders.load_class_folder` it
    as the data set ``ref``.

    The unpacked folder stays (a page loads it again later by path); it is removed again when
    the set cannot be loaded, except when only an image size is missing
    (:class:`class_folders.SizeNeeded`: load the folder again with a size).

    Example:
        >>> ds, notes = from_zip("shapes.zip", datasets / "shapes",
        ...                      refs.upload("shapes"))  # doctest: +SKIP
    """
    root = unpack(zip_path, target, limits, max_bytes, shown=shown, fits=fits)
    try:
        return class_folders.load_class_folder(root, ref, seed, limits=limits, progress=progress)
    except class_folders.SizeNeeded:
        raise
    except DatasetError:
        shutil.rmtree(target, ignore_errors=True)
        raise
