# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Options and return values every concern module of m365ops.activation shares."""

    DOCUMENTATION = r"""
options:
  backup_dir:
    description:
      - Directory on the controller where a backup record of every value this task overwrote,
        deleted or created is written, as C(<backup_dir>/<host directory>/<time>_<module>.json) (the inventory name with
        every character outside C(A-Za-z0-9._-) as C(%XX)); a relative path is relative to the current directory.
      - The records of every change are written there (state C(planned)) before the change is sent to the host, and
        on the host's own journal; see docs/restore.md.
      - The same records are always returned as RV(backup); C(playbooks/restore.yml) reapplies them.
      - Each record written there and on the host is signed (HMAC-SHA256) with the controller's backup key for its
        host, the variable C(m365ops_backup_key), or else the file named by C(m365ops_backup_key_file), the environment
        variable C(M365OPS_BACKUP_KEY_FILE), or C(~/.ansible/m365ops/backup.key), created readable by its owner only on
        the first run that is not in check mode. Restore trusts no record the key did not sign.
      - Nothing is written in check mode or when nothing changed.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The probe runs; the result reports exactly the changes a real run would make.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Before and after of every changed registry value, in .reg notation.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: windows
notes:
  - Decisions are made on the controller; the host runs the collection's agent
    (M(m365ops.activation.win_agent)) once to read and, when something must change, once to change; only a repair
    after a failed change (M(m365ops.activation.win_required_services) with C(sfc_on_failure)) adds a third run.
  - Tested against the collection's simulated Windows fleet only; it has not yet been run on a real Windows host.
"""
