# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integrity of backup records: every record the collection writes carries an HMAC, and restore trusts no other.

A record says what a run found on a host and what it wrote there; restore acts on it. So each record is signed when
it is written (the write-ahead journal's planned records, on the controller and on the host, and the applied records
of the answer) with ``mac = "hmac-sha256:<key id>:<hex>"``, an HMAC-SHA256 over the record's canonical JSON (the
``mac`` itself and the ``outcome`` a later run notes on an interrupted run's record left out) and the inventory name
of its host. A record written by hand, edited, copied from another host's backups, or signed with another key does
not verify, and restore refuses it before it contacts the host, naming the file (or journal entry) and the record.

The key is the controller's, never the host's: the variable ``m365ops_backup_key`` (a secret of at least 32
characters, from Ansible Vault or an AWX credential, so that every controller and job of a site shares it), or else
the file named by ``m365ops_backup_key_file``, the environment variable ``M365OPS_BACKUP_KEY_FILE``, or
``~/.ansible/m365ops/backup.key``, created on first use with 32 random bytes. Only its owner may read the file: a key
file that its group or others can read is refused, as ssh refuses such a private key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import typing as t
from dataclasses import dataclass, field

KEY_VARIABLE = "m365ops_backup_key"
KEY_FILE_VARIABLE = "m365ops_backup_key_file"
KEY_FILE_ENVIRONMENT = "M365OPS_BACKUP_KEY_FILE"
DEFAULT_KEY_FILE = os.path.join("~", ".ansible", "m365ops", "backup.key")
MIN_KEY_LENGTH = 32
# What a record's signature leaves out: the signature, and what a later run notes on it (an interrupted run's outcome).
UNSIGNED_FIELDS = ("mac", "outcome")
SCHEME = "hmac-sha256"


class BackupKeyError(ValueError):
    """The backup key cannot be read, created or trusted."""


@dataclass(frozen=True)
class BackupKey:
    """The controller's key that signs and verifies backup records; ``source`` names where it came from (never the key)."""

    # Never in a repr: a key printed in a traceback or a debug line is a key given away.
    secret: bytes = field(repr=False)
    source: str = ""

    @property
    def key_id(self) -> str:
        """Eight hex digits that tell keys apart in messages, and say nothing of the key."""
        return hashlib.sha256(b"m365ops.activation key id\n" + self.secret).hexdigest()[:8]

    def digest(self, host: str, record: t.Mapping[str, t.Any]) -> str:
        signed = {name: value for name, value in record.items() if name not in UNSIGNED_FIELDS}
        message = json.dumps({"host": host, "record": signed}, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hmac.new(self.secret, message.encode("ascii"), hashlib.sha256).hexdigest()

    def sign(self, host: str, record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """``record`` with its ``mac`` for ``host``."""
        return {**record, "mac": f"{SCHEME}:{self.key_id}:{self.digest(host, record)}"}


def sign_all(key: BackupKey | None, host: str, records: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Every record signed (unchanged without a key: a run in check mode writes nothing)."""
    return [key.sign(host, record) if key is not None else dict(record) for record in records]


def record_signature_problem(key: BackupKey | None, host: str, record: t.Mapping[str, t.Any], trust_unsigned: bool = False) -> str | None:
    """Why ``record`` cannot be trusted as written by the collection for ``host``, or None."""
    mac = record.get("mac")
    if mac is None:
        if trust_unsigned:
            return None
        return ("it carries no signature: written by hand, or by a version of the collection before records were signed "
                "(trust_unsigned: true, or m365ops_restore_trust_unsigned=true, restores such records after the same checks)")
    parts = mac.split(":") if isinstance(mac, str) else []
    if len(parts) != 3 or parts[0] != SCHEME:
        return f"its signature is not a {SCHEME} signature of the collection"
    if key is None:
        return f"it is signed (key id {parts[1]}) and no backup key is available to verify it"
    if parts[1] != key.key_id:
        return (f"it was signed with another key (key id {parts[1]}; this controller's, from {key.source}, is {key.key_id}): set "
                f"{KEY_VARIABLE} or {KEY_FILE_VARIABLE} to the key that wrote it")
    if not hmac.compare_digest(parts[2], key.digest(host, record)):
        return "its signature does not match its content: it was edited after it was written, or belongs to another host"
    return None


def _read_key_file(path: str) -> BackupKey:
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        raise BackupKeyError(f"the backup key file {path} cannot be read: {error.strerror}") from error
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        os.close(handle)
        raise BackupKeyError(f"the backup key file {path} is not a regular file")
    with os.fdopen(handle, "rb") as stream:
        if info.st_mode & 0o077:
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            raise BackupKeyError(f"the backup key file {path} can be read by others (mode {mode}): only its owner may read it; chmod 600 it")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise BackupKeyError(f"the backup key file {path} belongs to another user")
        secret = stream.read(4096).strip()
    if len(secret) < MIN_KEY_LENGTH:
        raise BackupKeyError(f"the backup key file {path} holds fewer than {MIN_KEY_LENGTH} characters")
    return BackupKey(secret, path)


def _create_key_file(path: str) -> None:
    """Write a new random key at ``path``, owner-only, atomically: of two runs creating it at once, one key wins and both use it."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=directory, prefix=".backup-key-")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(secrets.token_hex(32) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temp_path, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temp_path)


def load_key(secret: t.Any = None, key_file: t.Any = None, create: bool = False,
             environment: t.Mapping[str, str] | None = None) -> BackupKey | None:
    """The controller's backup key: ``secret`` (the variable), else the key file; the file is created when ``create`` and
    it does not exist yet. None when there is no key and none is to be created (a check-mode run that finds none)."""
    if secret not in (None, ""):
        text = str(secret)
        if len(text) < MIN_KEY_LENGTH:
            raise BackupKeyError(f"{KEY_VARIABLE} must be at least {MIN_KEY_LENGTH} characters long")
        return BackupKey(text.encode("utf-8"), KEY_VARIABLE)
    environment = os.environ if environment is None else environment
    path = os.path.abspath(os.path.expanduser(str(key_file or environment.get(KEY_FILE_ENVIRONMENT) or DEFAULT_KEY_FILE)))
    if not os.path.lexists(path):
        if not create:
            return None
        try:
            _create_key_file(path)
        except OSError as error:
            raise BackupKeyError(f"the backup key file {path} cannot be created: {error.strerror or error}") from error
    return _read_key_file(path)
