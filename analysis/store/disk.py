"""The data directory and private files in it.

Everything LapseLens writes between visits lives under one data directory: kept data sets
now (``datasets/``), whole books later. Its place is a setting, the environment variable
:data:`DATA_DIR_ENV`; without it, :data:`DEFAULT_DATA_DIR` (``.lapselens/`` beside
``app.py``, git-ignored). Folders LapseLens makes there are 0700 and files 0600, so other
accounts on the machine cannot read an upload; a file is written under a temporary name and
then renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

#: The environment variable that names the data directory.
DATA_DIR_ENV: Final = "LAPSELENS_DATA_DIR"
#: The data directory without the setting: ``.lapselens/`` in the project folder (beside ``app.py``).
DEFAULT_DATA_DIR: Final = Path(__file__).resolve().parents[2] / ".lapselens"
#: Permissions of the folders LapseLens makes: the owner only.
PRIVATE_DIR_MODE: Final = 0o700
#: Permissions of the files LapseLens writes: the owner may read and write, nobody else anything.
PRIVATE_FILE_MODE: Final = 0o600


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The data directory: ``environ[DATA_DIR_ENV]`` when set (``~`` expanded), else :data:`DEFAULT_DATA_DIR`.

    Parameters
    ----------
    environ
        The environment to read (default: ``os.environ``).

    Returns
    -------
    Path
        An absolute path; nothing is created here.
    """
    value = (os.environ if environ is None else environ).get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else DEFAULT_DATA_DIR


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a folder only its owner can enter; return it.

    The folder itself is set to 0700 even when it existed, so a folder made by hand with
    wider permissions is narrowed. Parents LapseLens creates are 0700 too; parents that
    existed are left as they are.
    """
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file, atomically (temporary name, then rename).

    The folder must exist (see :func:`private_dir`). A reader sees the old file or the whole
    new one, never part of it; the temporary file is removed when the write fails.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, PRIVATE_FILE_MODE)  # in case the umask took bits the mode had
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
