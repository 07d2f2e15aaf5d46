"""Install the collections this collection depends on (galaxy.yml) where the tests, lint and demo find them.

ansible.windows comes from the ``ansible`` package on PyPI (which bundles it), because CI reaches PyPI and not Galaxy:
the wheel is downloaded once into .build/wheels and only ``ansible_collections/ansible/windows`` is unpacked, beside
this collection's link under .build/collections. Running it again does nothing once the collection is there.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
WHEELS = ROOT / ".build" / "wheels"
# ansible 12.3.0 bundles ansible.windows 3.3.0 and requires ansible-core 2.19, the minor this collection supports.
ANSIBLE_PACKAGE = "ansible==12.3.0"
WANTED = "ansible_collections/ansible/windows/"


def install(collections: Path = COLLECTIONS) -> Path:
    """ansible.windows under ``collections``; returns ``collections``."""
    if (collections / WANTED / "MANIFEST.json").exists():
        return collections
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(WHEELS), ANSIBLE_PACKAGE], check=True)
    wheel = next(WHEELS.glob("ansible-12.3.0-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(collections, [name for name in archive.namelist() if name.startswith(WANTED)])
    return collections


if __name__ == "__main__":
    print(f"ansible.windows under {install()}")
