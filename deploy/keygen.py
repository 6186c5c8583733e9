"""Write a fresh Ed25519 key pair for signing access tokens: ``python -m deploy.keygen DIR``.

The private key is for the user service only; the gateway needs just the public one.
Existing keys are kept, so restarting does not log every user out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from services.user.tokens import generate_keypair

PRIVATE_NAME = "jwt_private.pem"
PUBLIC_NAME = "jwt_public.pem"


def ensure_keys(folder: Path) -> tuple[Path, Path]:
    """Create the key pair in ``folder`` unless it is already there."""
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    if not private.exists():
        private_pem, public_pem = generate_keypair()
        private.write_bytes(private_pem)
        private.chmod(0o600)
        public.write_bytes(public_pem)
    return private, public


if __name__ == "__main__":
    for path in ensure_keys(Path(sys.argv[1] if len(sys.argv) > 1 else ".run/keys")):
        print(path)
