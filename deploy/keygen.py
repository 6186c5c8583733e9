"""Write a fresh Ed25519 key pair for signing access tokens: ``python -m deploy.keygen DIR``.

The private key is for the user service only; the gateway needs just the public one.
Existing keys are kept, so restarting does not log every user out.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.user.tokens import generate_keypair

PRIVATE_NAME = "jwt_private.pem"
PUBLIC_NAME = "jwt_public.pem"


def ensure_keys(folder: Path) -> tuple[Path, Path]:
    """Create the key pair in ``folder`` (0700, files 0600) unless it is already there."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private, public = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    if not private.exists():
        private_pem, public_pem = generate_keypair()
        write_private(private, private_pem)
        write_private(public, public_pem)
    return private, public


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner can read, from the moment it exists."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


if __name__ == "__main__":
    for path in ensure_keys(Path(sys.argv[1] if len(sys.argv) > 1 else ".run/keys")):
        print(path)
