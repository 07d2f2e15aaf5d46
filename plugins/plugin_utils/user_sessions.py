# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The users signed in interactively, and the answers of ops run in their sessions (user_session_read and
user_session_write): who is reached, and what each session's task answered or why it did not."""

from __future__ import annotations

import json
import typing as t


def signed_in_users(sessions: t.Mapping[str, t.Any]) -> dict[str, str]:
    """SID to account name of each user signed in interactively, from a ``user_sessions`` answer (a user with two
    sessions once)."""
    users: dict[str, str] = {}
    for session in sessions.get("sessions") or []:
        users.setdefault(str(session["sid"]), str(session.get("user") or session["sid"]))
    return users


def unresolved_users(sessions: t.Mapping[str, t.Any]) -> list[str]:
    """Why each signed-in user whose SID the host could not find is out of reach, from a ``user_sessions`` answer or from
    a ``user_session_read``/``user_session_write`` answer (an entry without a SID)."""
    listed = [*(sessions.get("unresolved") or []), *(item for item in sessions.get("sessions") or [] if item.get("sid") is None)]
    return [f"{item.get('user')} is signed in (session {item.get('session_id')}), but the host could not find the SID of that "
            "user, so nothing of theirs was read or changed" for item in listed]


NO_SESSION = ("no user session: nobody is signed in interactively, so no user's Credential Manager could be read (Office's "
              "credentials live in each user's own logon session)")


def session_answers(data: t.Mapping[str, t.Any]) -> list[tuple[dict[str, t.Any], dict[str, t.Any] | None, str | None]]:
    """Per session of an identified user: the session, the task's parsed answer (None when there is none), and why there
    is none."""
    found = []
    for session in data.get("sessions") or []:
        if session.get("sid") is None:
            # A user the host could not identify: told by unresolved_users, never taken for a failed read.
            continue
        if not session.get("ok"):
            why = session.get("error") or "failed"
            found.append((session, None, f"{why}: {session.get('message') or 'the task in the session gave no answer'}"))
            continue
        try:
            answer = json.loads(session.get("output") or "")
        except ValueError:
            found.append((session, None, "the task in the session wrote an answer that is not JSON"))
            continue
        if not isinstance(answer, dict) or not answer.get("ok"):
            found.append((session, None, str((answer or {}).get("message") if isinstance(answer, dict) else "no answer")))
            continue
        found.append((session, answer, None))
    return found


def reach(own: bool, sids: t.Sequence[str] | None = None) -> dict[str, t.Any]:
    """Whose session a user op goes to: the become user's (the agent's own process), or the signed-in users' (all, or
    the SIDs given)."""
    if own:
        return {"self": True}
    return {"users": list(sids)} if sids else {}


USERS_OPTION = {"type": "str", "default": "signed_in", "choices": ["signed_in", "become"]}
