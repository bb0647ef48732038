"""Model files that come inside PyPI packages, checked against the SHA-256 pinned in this code before use.

``requirements/models.txt`` pins the packages by wheel hash; this second check refuses a file that changed
after installation (another version, a tampered copy) with a message that says how to repair it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_pinned(path: Path, expected: str, *, package: str, error: type[Exception]) -> None:
    """Raise ``error`` unless ``path`` (from ``package``) has the pinned SHA-256 ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise error(
            f"{path} from {package} has SHA-256 {actual}, expected the pinned {expected}; reinstall the pinned "
            "version (scripts/setup.sh installs it from requirements/models.txt with --require-hashes)"
        )
