"""The committed protobuf code must be what the committed .proto files generate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "proto_generate", Path(__file__).parents[2] / "proto" / "generate.py"
)
assert _spec
assert _spec.loader
proto_generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(proto_generate)
PROTO_ROOT: Path = proto_generate.PROTO_ROOT
generate = proto_generate.generate


def generated_files(root: Path) -> dict[str, bytes]:
    """Relative path -> content of every generated module under root."""
    patterns = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")
    return {
        str(path.relative_to(root)): path.read_bytes()
        for pattern in patterns
        for path in root.rglob(pattern)
    }


def test_committed_generated_code_is_up_to_date(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = generated_files(tmp_path)
    assert fresh, "protoc produced nothing"
    committed = generated_files(PROTO_ROOT)
    assert committed == fresh, "generated code is stale: run `make proto` and commit the result"
