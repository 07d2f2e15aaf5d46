"""The backup key and record signatures: what signs, what verifies, and which keys are refused."""
from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import (
    BackupKey, BackupKeyError, load_key, record_signature_problem, sign_all,
)

RECORD = {"kind": "registry", "key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator", "view": "64",
          "name": "NoActiveProbe", "before": {"type": "dword", "value": 1}, "after": None}


def test_a_new_key_file_is_created_once_owner_only_and_read_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "backup.key"
    assert load_key(key_file=str(path), create=False) is None
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _index: load_key(key_file=str(path), create=True), range(8)))
    assert len({key.secret for key in keys}) == 1 and len(keys[0].secret) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [name for name in os.listdir(path.parent) if name != "backup.key"] == []
    assert load_key(key_file=str(path)).key_id == keys[0].key_id


@pytest.mark.parametrize(("mode", "content", "needle"), [
    (0o644, "k" * 64, "can be read by others .*chmod 600"),
    (0o600, "short", "fewer than 32 characters"),
], ids=["readable-by-others", "too-short"])
def test_a_key_file_anyone_else_can_read_or_too_short_is_refused(tmp_path: Path, mode: int, content: str, needle: str) -> None:
    path = tmp_path / "backup.key"
    path.write_text(content, encoding="ascii")
    path.chmod(mode)
    with pytest.raises(BackupKeyError, match=needle):
        load_key(key_file=str(path))


def test_a_key_file_that_is_a_link_or_a_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.key"
    real.write_text("k" * 64, encoding="ascii")
    real.chmod(0o600)
    (tmp_path / "link.key").symlink_to(real)
    with pytest.raises(BackupKeyError, match="cannot be read"):
        load_key(key_file=str(tmp_path / "link.key"))
    with pytest.raises(BackupKeyError, match="not a regular file|cannot be read"):
        load_key(key_file=str(tmp_path))


def test_the_variable_wins_over_any_file_and_must_be_long_enough(tmp_path: Path) -> None:
    key = load_key("s" * 40, key_file=str(tmp_path / "never.key"), create=True)
    assert key.source == "m365ops_backup_key" and not (tmp_path / "never.key").exists()
    with pytest.raises(BackupKeyError, match="at least 32"):
        load_key("short")
    assert load_key(environment={"M365OPS_BACKUP_KEY_FILE": str(tmp_path / "env.key")}, create=True).source == str(tmp_path / "env.key")


def test_a_signature_binds_the_record_and_the_host_and_ignores_a_later_outcome_note() -> None:
    key = BackupKey(b"k" * 32, "test")
    signed = key.sign("pc01", RECORD)
    assert record_signature_problem(key, "pc01", signed) is None
    assert record_signature_problem(key, "pc01", {**signed, "outcome": "in_effect"}) is None
    assert "does not match" in record_signature_problem(key, "pc02", signed)
    assert "does not match" in record_signature_problem(key, "pc01", {**signed, "after": {"type": "dword", "value": 0}})
    assert "another key" in record_signature_problem(BackupKey(b"z" * 32, "other"), "pc01", signed)
    assert key.sign("pc01", signed) == signed, "signing again gives the same signature"
    assert sign_all(None, "pc01", [RECORD]) == [RECORD]
    assert "no signature" in record_signature_problem(key, "pc01", RECORD)
    assert record_signature_problem(key, "pc01", RECORD, trust_unsigned=True) is None
    assert len(key.key_id) == 8 and "kkkk" not in repr(key) and key.key_id not in repr(key)
