# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Required services for Microsoft 365 activation (article: "make sure required services are running").

Network Connected Devices Auto-Setup, Network List Service, Network Location Awareness and
Windows Event Log must run: NCSI, which Office asks whether it is online, lives in them. Each is
addressed by its short name (display names are localized). A Disabled service gets its Windows
default start mode back; a stopped one is started, dependencies first (the SCM starts a service's
dependencies itself, but a disabled dependency in the list must be enabled before). A service that
will not start fails the task with the Win32 error and the article's next step, sfc /scannow. A
service that does not exist fails the task naming it, unless it arrived with a later release than
the host's (NcdAutoSetup before Windows 8), which is reported as not applicable.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import Change
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.services import (
    SERVICE_NAME, ServiceStart, ServiceState, StartModeChange, dependency_order,
)

# Windows defaults (docs/sources.md section 6); NcdAutoSetup and netprofm are trigger/manual services.
DEFAULT_SERVICES = [
    {"name": "EventLog", "default_start_mode": "auto"},
    {"name": "NlaSvc", "default_start_mode": "auto"},
    {"name": "netprofm", "default_start_mode": "manual"},
    {"name": "NcdAutoSetup", "default_start_mode": "manual"},
]
SFC = r"%SystemRoot%\System32\sfc.exe"
# Services on Office's sign-in and activation path beyond the article's four: Web Account
# Manager, Microsoft Account Sign-in Assistant, Click-to-Run, certificate/CRL retrieval, DNS client, WinHTTP's
# auto-proxy. Reported, never changed (Dnscache and WinHttpAutoProxySvc are protected by Windows anyway).
REPORTED_SERVICES = ["TokenBroker", "wlidsvc", "ClickToRunSvc", "CryptSvc", "Dnscache", "WinHttpAutoProxySvc"]
# Windows default start modes of what the article's services depend on (sc qc on Windows 10/11); any other
# Disabled dependency is set to manual (demand start), which lets the SCM start it for its dependents.
DEPENDENCY_DEFAULTS = {"dhcp": "auto", "nsi": "auto", "rpcss": "auto", "eventlog": "auto", "nlasvc": "auto"}
# Services that arrived with a later release: absent before it is what Windows ships, not a fault.
INTRODUCED = {"ncdautosetup": ((6, 2), "Windows 8 / Server 2012")}


class RequiredServices(Concern):
    NAME = "required_services"
    FACTS_KEY = "services"
    # sfc /scannow queues the files it could not replace in use until the next restart.
    REPAIR_NEEDS_REBOOT = True
    ARGUMENT_SPEC = {
        "services": {
            "type": "list", "elements": "dict", "default": DEFAULT_SERVICES,
            "options": {
                "name": {"type": "str", "required": True},
                "default_start_mode": {"type": "str", "default": "manual", "choices": ["auto", "delayed", "manual"]},
            },
        },
        "start_timeout": {"type": "int", "default": 60},
        "sfc_on_failure": {"type": "bool", "default": False},
        "sfc_timeout": {"type": "int", "default": 3600},
        "enable_dependencies": {"type": "bool", "default": True},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        check_services_arguments(args)

    def repair_ops(self, args: dict[str, t.Any], change: Change, outcome: OpResult) -> list[dict[str, t.Any]]:
        # The article's next step for a service that will not start: System File Checker, then try again.
        if args["sfc_on_failure"] and outcome.error == "service_start_failed":
            return [{"op": "process_run", "path": SFC, "arguments": ["/scannow"], "timeout_seconds": args["sfc_timeout"]}]
        return []

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {"services": {"op": "service_query", "names": [service["name"] for service in args["services"]], "with_dependencies": True},
                "reported": {"op": "service_query", "names": REPORTED_SERVICES}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_services(args, state)


def check_services_arguments(args: dict[str, t.Any]) -> None:
    if not args["services"]:
        raise AnsibleActionFail("services: name at least one service")
    seen: set[str] = set()
    for service in args["services"]:
        name = service["name"]
        if not SERVICE_NAME.fullmatch(name):
            raise AnsibleActionFail(f"services: '{name}' is not a service short name (no slashes or backslashes, "
                                    "not empty, at most 256 characters); use the name, not the localized display name")
        if name.lower() in seen:
            raise AnsibleActionFail(f"services: '{name}' is listed twice")
        seen.add(name.lower())
    for option in ("start_timeout", "sfc_timeout"):
        if not 1 <= args[option] <= 3600:
            raise AnsibleActionFail(f"{option}: must be 1 to 3600 seconds, not {args[option]}")


def plan_services(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    answers = state.probe("services").data["services"]
    wanted = {service["name"]: service["default_start_mode"] for service in args["services"]}
    found = [ServiceState.from_agent(name, answers.get(name, {})) for name in wanted]
    absent = [service.name for service in found if not service.exists]
    not_applicable = [name for name in absent if state.windows.version < INTRODUCED.get(name.lower(), ((0, 0), ""))[0]]
    missing = [name for name in absent if name not in not_applicable]
    plan.facts = {"missing": missing, "not_applicable": not_applicable}
    if missing:
        plan.failure = (f"services: {', '.join(missing)} does not exist on this {state.windows.name} host (Win32 error 1060); "
                        "name services by their short name (the key under HKLM\\SYSTEM\\CurrentControlSet\\Services, as "
                        "'sc.exe query' shows it), not by their localized display name")
        return plan
    present = [service for service in found if service.exists]
    listed = {service.name.lower() for service in present}
    # Everything the listed services depend on, directly or not: a Disabled one makes their start fail with 1068.
    closure = [ServiceState.from_agent(name, data) for name, data in answers.items()
               if name.lower() not in listed and data.get("exists")]
    resting = []
    starts = []
    for service in dependency_order([*closure, *present]):
        if service.name.lower() not in listed:
            if service.start_mode == "disabled" and args["enable_dependencies"]:
                mode = DEPENDENCY_DEFAULTS.get(service.name.lower(), "manual")
                plan.changes.append(StartModeChange(service, mode, f"{service.name} is Disabled, and the required services depend on it "
                                                                   f"(the SCM refuses to start them, Win32 error 1068); set to {mode}"))
                if service.status != "running":
                    # Started explicitly, so that the start is recorded and restore can put it back.
                    starts.append(ServiceStart(service, f"{service.name} was Disabled and stopped; the required services need it running",
                                               args["start_timeout"]))
            elif service.start_mode == "disabled":
                plan.blockers.append(Reason(
                    "required_services.disabled_dependency",
                    f"{service.name} is Disabled and the required services depend on it (Win32 error 1068 on start); "
                    "enable it, or set enable_dependencies: true"))
            continue
        if service.start_mode == "disabled":
            plan.changes.append(StartModeChange(service, wanted[service.name],
                                                f"{service.name} is Disabled; its Windows default start mode is {wanted[service.name]}"))
        elif service.start_mode == "unknown":
            plan.warnings.append(f"{service.name} has no readable Start value under HKLM\\SYSTEM\\CurrentControlSet\\Services")
        if service.status == "stopped" and service.trigger_start and service.start_mode not in ("disabled", None):
            # Trigger-start services rest stopped and Windows starts them on their trigger: starting one by hand does
            # not last, and would be a change on every run.
            resting.append(service.name)
        elif service.status != "running":
            starts.append(ServiceStart(service, f"{service.name} is {service.status}, and the article needs it running",
                                       args["start_timeout"]))
    plan.changes.extend(starts)
    plan.facts["found"] = {service.name: {"start_mode": service.start_mode, "status": service.status} for service in present}
    plan.facts["dependencies"] = {service.name: {"start_mode": service.start_mode, "status": service.status} for service in closure}
    plan.facts["resting_trigger_start"] = resting
    if state.asked("reported"):
        reported = state.probe("reported").data.get("services", {})
        plan.facts["reported"] = {name: ({"start_mode": data.get("start_mode"), "status": data.get("status")} if data.get("exists") else None)
                                  for name, data in reported.items()}
    return plan
