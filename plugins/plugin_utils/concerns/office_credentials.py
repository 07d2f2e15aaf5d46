# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Office's cached credentials removed from every signed-in user's Credential Manager (article: "remove Office credentials").

Credential Manager belongs to each user's logon session, which a WinRM logon cannot see, and no fleet can give Ansible
every user's password: the agent runs the user ops in each interactive session through a short-lived scheduled task
with that user's interactive token (``user_session_read`` / ``user_session_write``). Entries whose target matches
``patterns`` (the article's ``MicrosoftOffice16`` family by default; the exact prefixes are not documented, so they are
matched by pattern and the matches named) are removed through CredDelete; nothing else is touched. Results name targets
and users, never a secret: the agent never reads one. A host with nobody signed in is "no user session", never success.
The same task reads the Entra ID join Windows reports to each user (``work_accounts: report``): a work or school account
the user added (Workplace Join) is named in a warning, since Office may activate with it; it is never removed here.
"""

from __future__ import annotations

import fnmatch
import typing as t
from dataclasses import dataclass

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.user_sessions import NO_SESSION, USERS_OPTION, reach, session_answers, unresolved_users

PATTERNS = ["MicrosoftOffice16_Data:*", "MicrosoftOffice15_Data:*"]
# Office's targets all begin so (docs/sources.md section 7); a pattern must name that much before its first wildcard unless the
# user says, with other_targets, that it may select other programs' credentials (git, RDP, a Microsoft account).
OFFICE_PREFIX = "microsoftoffice"
NOT_RESTORABLE = ("removed credentials cannot be put back by restore (their secrets are never read); the backup names each one's "
                  "target, type, user name and persistence, so a person can re-create what went")


class CachedCredential(t.NamedTuple):
    """A Credential Manager entry as credential_list names it: never its secret."""

    target: str
    type: int
    user_name: str | None
    persist: int | None

    def record(self) -> dict[str, t.Any]:
        return {"target": self.target, "type": self.type, "user_name": self.user_name, "persist": self.persist}


@dataclass(frozen=True)
class CredentialRemoval:
    """One user's matching Credential Manager entries, removed in that user's session."""

    sid: str
    user: str
    entries: tuple[CachedCredential, ...]
    timeout_seconds: int
    reason: str
    reboot_required: bool = False
    # The become user's own (the agent's process), not a signed-in user's session.
    own: bool = False

    @property
    def target(self) -> str:
        return f"{self.user}'s credentials {', '.join(entry.target for entry in self.entries)}"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "user_session_write", **reach(self.own, [self.sid]), "timeout_seconds": self.timeout_seconds,
                "ops": [{"op": "credential_delete", "target": entry.target, "type": entry.type} for entry in self.entries]}

    def as_result(self) -> dict[str, t.Any]:
        return {"user": self.user, "sid": self.sid, "remove": [entry.target for entry in self.entries], "reason": self.reason}

    def diff(self) -> DiffEntry:
        return DiffEntry(("credentials", self.sid), (f"[{self.user} Credential Manager]", f"[{self.user} Credential Manager]"),
                         ("\n".join(entry.target for entry in self.entries), ""), self.sid)

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        # A secret cannot be put back and is never read: the record names what went, enough for a person to re-create it.
        return {"kind": "action", "user": self.user, "sid": self.sid, "restorable": False,
                "removed_credentials": [entry.record() for entry in self.entries]}


def work_account(plan: Plan, user: str, answer: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    """The Entra ID join Windows reports to ``user`` (``work_account`` user op), and a warning when it is a work or school
    account the user added (Workplace Join) rather than the device's join: Office may sign in and activate with it."""
    read = next((item for item in answer.get("results") or [] if item.get("op") == "work_account"), None)
    if read is None or not read.get("ok"):
        plan.warnings.append(f"reading {user}'s work or school account: {(read or {}).get('message') or 'no answer'}")
        return None
    join = read.get("join")
    if not read.get("supported") or not isinstance(join, dict):
        return None
    found = {key: join.get(key) for key in ("join_type", "tenant_name", "tenant_id", "idp_domain", "user_email", "join_user_email")}
    # Windows answers with one join, "the default join account": the device's join where the device is joined, else one of
    # the user's work accounts. On a joined device an account the user added is not seen (review G21).
    found["checked"] = "default join only"
    if found["join_type"] == "device":
        found["not_seen"] = "work or school accounts the user added: Windows reports the device's join on a joined device"
    if found["join_type"] == "workplace":
        account = found["user_email"] or found["join_user_email"] or "an account"
        plan.warnings.append(f"{user} added the work or school account {account} ({found['tenant_name'] or found['tenant_id']}), which is not "
                             "how Windows is signed in: if Office should activate with another account, the user disconnects it in "
                             "Settings > Accounts > Access work or school")
    return found


class OfficeCredentials(Concern):
    NAME = "office_credentials"
    FACTS_KEY = "office_credentials"
    ARGUMENT_SPEC = {
        "patterns": {"type": "list", "elements": "str", "default": PATTERNS},
        "timeout_seconds": {"type": "int", "default": 60},
        "users": USERS_OPTION,
        "work_accounts": {"type": "str", "default": "report", "choices": ["report", "ignore"]},
        "other_targets": {"type": "bool", "default": False},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        for index, pattern in enumerate(args["patterns"]):
            # A pattern that matches everything would empty every user's Credential Manager.
            if not pattern.strip("*? ") or len(pattern) > 256 or any(ord(char) < 32 for char in pattern):
                raise AnsibleActionFail(f"patterns[{index}]: {pattern[:60]!r} must name part of a target, not match every credential")
            literal = pattern.lower().split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
            if not args["other_targets"] and not literal.startswith(OFFICE_PREFIX):
                raise AnsibleActionFail(f"patterns[{index}]: {pattern[:60]!r} may select other programs' credentials (git, Remote Desktop, "
                                        "a Microsoft account); Office's targets begin with MicrosoftOffice, which a pattern must name "
                                        "before its first wildcard, unless other_targets: true says otherwise")
        if not args["patterns"]:
            raise AnsibleActionFail("patterns: give at least one target pattern, such as MicrosoftOffice16_Data:*")
        if not 5 <= args["timeout_seconds"] <= 600:
            raise AnsibleActionFail(f"timeout_seconds: must be 5 to 600, not {args['timeout_seconds']}")

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        # The work account is read by the same task in each session: no task or execution more.
        reads = [{"op": "credential_list"}, *([{"op": "work_account"}] if args["work_accounts"] == "report" else [])]
        return {"credentials": {"op": "user_session_read", **reach(args["users"] == "become"), "ops": reads, "timeout_seconds": args["timeout_seconds"]}}

    def matching(self, args: dict[str, t.Any], credentials: t.Sequence[t.Mapping[str, t.Any]]) -> list[CachedCredential]:
        return [CachedCredential(str(item["target"]), int(item["type"]), item.get("user_name"), item.get("persist")) for item in credentials
                if any(fnmatch.fnmatchcase(str(item.get("target") or "").lower(), pattern.lower()) for pattern in args["patterns"])]

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        plan = Plan()
        users = []
        answers = session_answers(state.probe("credentials").data)
        unknown = unresolved_users(state.probe("credentials").data)
        plan.blockers += [Reason("office_credentials.user_unknown", why) for why in unknown]
        if not answers and not unknown:
            plan.blockers.append(Reason("office_credentials.no_session", NO_SESSION))
        for session, answer, why in answers:
            user, sid = str(session.get("user")), str(session.get("sid"))
            if answer is None:
                plan.failure = f"reading {user}'s Credential Manager in session {session.get('session_id')}: {why}"
                users.append({"user": user, "sid": sid, "read": False})
                continue
            listed = next((item for item in answer.get("results") or [] if item.get("op") == "credential_list"), {})
            credentials = listed.get("credentials") or []
            found = self.matching(args, credentials)
            users.append({"user": user, "sid": sid, "read": True, "office_credentials": [entry.target for entry in found],
                          "other_credentials": len(credentials) - len(found)})
            if args["work_accounts"] == "report":
                users[-1]["work_account"] = work_account(plan, user, answer)
            if found:
                plan.changes.append(CredentialRemoval(sid, user, tuple(found), args["timeout_seconds"],
                                                      f"{user} has {len(found)} Office credential(s) cached in Credential Manager",
                                                      own=args["users"] == "become"))
        plan.facts = {"users": users, "patterns": list(args["patterns"])}
        if plan.changes:
            plan.warnings.append(NOT_RESTORABLE)
        return plan

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        sids = [change.sid for change in plan.changes if isinstance(change, CredentialRemoval)]
        if not sids:
            return {}
        return {"credentials": {"op": "user_session_read", **reach(args["users"] == "become", sids), "ops": [{"op": "credential_list"}],
                                "timeout_seconds": args["timeout_seconds"]}}

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        problems = []
        for result in applied:
            for session, answer, why in session_answers(result.data):
                if answer is None:
                    problems.append(f"removing {session.get('user')}'s Office credentials: {why}")
        for session, answer, why in session_answers(checks["credentials"].data) if "credentials" in checks else []:
            if answer is None:
                problems.append(f"reading {session.get('user')}'s Credential Manager again: {why}")
                continue
            listed = next((item for item in answer.get("results") or [] if item.get("op") == "credential_list"), {})
            left = self.matching(args, listed.get("credentials") or [])
            if left:
                problems.append(f"{session.get('user')} still has {', '.join(entry.target for entry in left)}")
        return problems
