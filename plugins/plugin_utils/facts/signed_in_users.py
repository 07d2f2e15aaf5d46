# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who is signed in interactively: the users whose Office activates, and whose settings per user the facts read. Facts only."""

from __future__ import annotations

import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext


class SignedInUsers(Concern):
    NAME = "signed_in_users"
    FACTS_KEY = "signed_in_users"

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        # The same read the WinHTTP proxy concern makes: one op for both.
        return {"sessions": {"op": "user_sessions"}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        sessions = state.probe("sessions").data.get("sessions") or []
        users = {str(item.get("sid")): {"user": item.get("user"), "sid": item.get("sid"), "session_ids": []} for item in sessions}
        for item in sessions:
            users[str(item.get("sid"))]["session_ids"].append(item.get("session_id"))
        return Plan(facts={"users": sorted(users.values(), key=lambda user: str(user["user"]).lower()), "count": len(users)})
