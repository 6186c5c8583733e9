"""Regenerate the Python protobuf and gRPC modules next to the .proto files.

Run as ``python proto/generate.py`` (or ``make proto``). With ``--out DIR`` the
code is written to DIR instead, which the staleness test uses to compare.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    """Return every .proto file under the root, sorted for stable output."""
    return sorted(root.rglob("*.proto"))


def generate(out: Path = PROTO_ROOT) -> None:
    """Compile all protos into ``out``, adding the package ``__init__.py`` files."""
    files = [str(path.relative_to(PROTO_ROOT)) for path in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        # The well-known types (google/protobuf/timestamp.proto) ship with grpc_tools.
        f"-I{resources.files('grpc_tools') / '_proto'}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for module in out.rglob("*_pb2.py"):
        _add_init_files(module.parent, stop=out)


def _add_init_files(folder: Path, stop: Path) -> None:
    while folder != stop:
        (folder / "__init__.py").touch()
        folder = folder.parent


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTO_ROOT)
    generate(parser.parse_args(argv).out)


if __name__ == "__main__":
    main(sys.argv[1:])
