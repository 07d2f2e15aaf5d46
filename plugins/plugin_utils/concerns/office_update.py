# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft 365 Apps at a minimum version (article: File > Account > Update Options > Update Now).

The version is Click-to-Run's ``VersionToReport`` (docs/sources.md section 9). Below ``minimum_version``,
OfficeC2RClient.exe is run with the switches the community uses (Microsoft documents no list) and returns before the
update is done; the apply batch then reads ``VersionToReport`` until it moves, bounded by ``timeout_seconds``, and the
version read decides. At or above the minimum nothing runs. Not Click-to-Run (an MSI Office, or none): a clear failure.
Office open in a user session: a blocker, unless ``close_apps`` lets the updater close it (unsaved work is lost).
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.tls12 import file_version
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.click_to_run import CONFIGURATION, ClickToRun, click_to_run_facts
from ansible_collections.m365ops.activation.plugins.plugin_utils.programs import ProgramRun
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryRef

CLIENT = r"%CommonProgramFiles%\microsoft shared\ClickToRun\OfficeC2RClient.exe"
# The Office applications whose open windows make the updater wait (or that it closes with forceappshutdown=true).
# The Click-to-Run Office apps whose being open holds an update and can rewrite the activation state a reset clears;
# Visio and Project too, which the reset article names (review G18).
APPS = ("WINWORD.EXE", "EXCEL.EXE", "OUTLOOK.EXE", "POWERPNT.EXE", "ONENOTE.EXE", "MSACCESS.EXE", "MSPUB.EXE", "lync.exe", "VISIO.EXE",
        "WINPROJ.EXE")
POLL_MS = 10000


class OfficeUpdate(Concern):
    NAME = "office_update"
    FACTS_KEY = "office_update"
    ARGUMENT_SPEC = {
        "minimum_version": {"type": "str", "required": True},
        "close_apps": {"type": "bool", "default": False},
        "timeout_seconds": {"type": "int", "default": 1800},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if file_version(args["minimum_version"]) is None:
            raise AnsibleActionFail(f"minimum_version: {str(args['minimum_version'])[:40]!r} is not a Microsoft 365 Apps version "
                                    "such as 16.0.17928.20156 (four numbers)")
        if not 60 <= args["timeout_seconds"] <= 14400:
            raise AnsibleActionFail(f"timeout_seconds: must be 60 to 14400, not {args['timeout_seconds']}")

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        return ClickToRun().registry_refs(args)

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {"processes": {"op": "process_list", "names": list(APPS)}, "client": {"op": "file_stat", "paths": [CLIENT]}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        plan = Plan()
        office = click_to_run_facts(state)
        plan.facts = {**office, "minimum_version": args["minimum_version"]}
        if not office.get("installed"):
            plan.failure = ("Microsoft 365 Apps is not installed as Click-to-Run on this host (an MSI Office, or no Office): "
                            "OfficeC2RClient cannot update it")
            return plan
        version, minimum = file_version(office.get("version")), file_version(args["minimum_version"])
        if version is None:
            plan.failure = f"Click-to-Run's VersionToReport is {str(office.get('version'))[:40]!r}, which is not a version"
            return plan
        if version >= minimum:
            return plan
        # What would keep the updater from reaching the minimum is said before it is started, not after a wait (review G17).
        target = office.get("update_target")
        if target and file_version(target["version"]) is not None and file_version(target["version"]) < minimum:
            plan.blockers.append(Reason("office_update.target_pinned", f"updates are pinned to {target['version']} ({target['source']}), below "
                                        f"{args['minimum_version']}: an update installs at most that; the pin is the site's to move"))
        if office.get("updates_managed_by_configmgr"):
            plan.blockers.append(Reason("office_update.configmgr", "Configuration Manager manages Office's updates (policy OfficeMgmtCOM 1): "
                                        "deploy the update from there"))
        if office.get("updates_off"):
            plan.blockers.append(Reason("office_update.updates_off", f"Office's updates are turned off ({', '.join(office['updates_off'])})"))
        if plan.blockers:
            return plan
        client = next(iter((state.probe("client").data.get("files") or {}).values()), {})
        if not client.get("exists"):
            plan.failure = f"{client.get('expanded') or CLIENT} is missing, although Click-to-Run's configuration says Office is installed"
            return plan
        open_apps = [f"{item['name']} (session {item.get('session_id')})" for item in state.probe("processes").data.get("processes") or []]
        plan.facts["open_apps"] = open_apps
        if open_apps and not args["close_apps"]:
            plan.blockers.append(Reason(
                "office_update.office_open",
                f"Office is open ({', '.join(open_apps)}): the update would wait until it is closed. "
                "close_apps: true lets the updater close it (unsaved work is lost)"))
            return plan
        plan.changes.append(ProgramRun(
            CLIENT, ("/update", "user", "updatepromptuser=false", f"forceappshutdown={'true' if args['close_apps'] else 'false'}",
                     "displaylevel=false"),
            f"Microsoft 365 Apps {office['version']} is below {args['minimum_version']}", False, (0,), 120))
        return plan

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        if not plan.changes:
            return {}
        # The updater returns at once: read the version until it moves, bounded by timeout_seconds.
        return {"version": {"op": "registry_wait", "key": CONFIGURATION.path, "view": "64", "name": "VersionToReport",
                            "not_equal": {"type": "string", "value": plan.facts["version"]}, "timeout_seconds": args["timeout_seconds"],
                            "interval_ms": POLL_MS}}

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        if "version" not in checks:
            return []
        waited = checks["version"].data
        now = (waited.get("value") or {}).get("value")
        if not waited.get("moved"):
            return [f"Microsoft 365 Apps stayed at {plan.facts['version']} for {args['timeout_seconds']} s after the update started; "
                    "it may still be downloading: run again later, or raise timeout_seconds"]
        if (file_version(now) or (0, 0, 0, 0)) < file_version(args["minimum_version"]):
            return [f"Microsoft 365 Apps went from {plan.facts['version']} to {now}, still below {args['minimum_version']}: "
                    "the update channel has no newer build for this host yet"]
        plan.facts["updated_to"] = now
        return []
