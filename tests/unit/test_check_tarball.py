"""The tarball check: a collection tarball passes; one with what a run leaves in a checkout fails, whatever its name."""
from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import check_tarball  # noqa: E402  (needs the path above)


def tarball(tmp_path: Path, extra: dict[str, bytes]) -> str:
    path = tmp_path / "collection.tar.gz"
    files = {name: b"x\n" for name in check_tarball.REQUIRED}
    files.update(extra)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return str(path)


def test_the_collection_alone_passes(tmp_path: Path) -> None:
    assert check_tarball.main(tarball(tmp_path, {"docs/restore.md": b"ansible_password: '{{ vault_password }}'\n"})) == 0


@pytest.mark.parametrize("name, data", [
    ("demo-output/inventory.json", json.dumps({"all": {"children": {}}}).encode()),
    ("docs/inventory.yml", b"all:\n  vars:\n    ansible_password: hunter2\n"),
    ("docs/fleet.json", json.dumps({"title": "audit", "hosts": {}, "totals": {}}).encode()),
    ("playbooks/pc01_win_tls12.json", json.dumps({"format": 1, "host": "pc01", "records": []}).encode()),
    ("backups/pc01/record.json", b"{}"),
], ids=["inventory", "password", "report", "backup", "outside-the-collection"])
def test_local_output_fails_the_check(tmp_path: Path, name: str, data: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_tarball.main(tarball(tmp_path, {name: data})) == 1
    assert name in capsys.readouterr().out
