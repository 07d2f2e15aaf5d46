# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft 365 Apps (Click-to-Run) as installed: version, update channel, shared computer activation. Facts only.

The configuration Click-to-Run keeps under ``HKLM\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration``
(``VersionToReport``, ``CDNBaseUrl``, ``UpdateChannel``, ``SharedComputerLicensing``, ``Platform``,
``ProductReleaseIds``); the channel is named from the GUID at the end of the update URL, and a Group Policy
``UpdatePath`` or ``UpdateBranch`` (``...\\Policies\\Microsoft\\office\\16.0\\Common\\officeupdate``) wins over
what Click-to-Run recorded. A host without that key is "not Click-to-Run" (an MSI Office, or no Office).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef

CONFIGURATION = RegistryKey(r"HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration")
UPDATE_POLICY = RegistryKey(r"HKLM\SOFTWARE\Policies\Microsoft\office\16.0\Common\officeupdate")
CONFIGURATION_VALUES = ("VersionToReport", "CDNBaseUrl", "UpdateChannel", "SharedComputerLicensing", "Platform", "ProductReleaseIds",
                        "UpdateToVersion", "UpdatesEnabled")
# UpdateTargetVersion pins what an update installs at most; EnableAutomaticUpdates 0 turns updates off; OfficeMgmtCOM 1
# hands them to Configuration Manager (review G17).
POLICY_VALUES = ("UpdatePath", "UpdateBranch", "UpdateTargetVersion", "EnableAutomaticUpdates", "OfficeMgmtCOM")
# The GUID at the end of http://officecdn.microsoft.com/pr/<GUID> (docs/sources.md section 9).
# Where shared computer activation keeps its licensing tokens when told to keep them elsewhere than the user's
# %LOCALAPPDATA%: SCLCacheOverride 1 with SCLCacheOverrideDirectory (a path, often \\server\share\%username%), from Group
# Policy, the machine's Licensing key (which OLicenseCleanup reads), or the Office Deployment Tool's configuration (G5).
LICENSING_POLICY = RegistryKey(r"HKLM\SOFTWARE\Policies\Microsoft\Office\16.0\Common\Licensing")
LICENSING_MACHINE = RegistryKey(r"HKLM\SOFTWARE\Microsoft\Office\16.0\Common\Licensing")
TOKEN_FOLDER_SOURCES = ((LICENSING_POLICY, "policy"), (LICENSING_MACHINE, "machine Licensing key"), (CONFIGURATION, "Click-to-Run configuration"))
TOKEN_FOLDER_VALUES = ("SCLCacheOverride", "SCLCacheOverrideDirectory")
CHANNELS = {
    "492350f6-3a01-4f97-b9c0-c7c6ddf67d60": "Current",
    "55336b82-a18d-4dd6-b5f6-9e5095c314a6": "Monthly Enterprise",
    "7ffbc6bf-bc32-4f92-8982-f9dd17fd3114": "Semi-Annual Enterprise",
    "b8f9b850-328d-4355-9145-c59439a0c4cf": "Semi-Annual Enterprise (Preview)",
    "64256afe-f5d9-4f86-8936-8840a6a4f5be": "Current (Preview)",
    "5440fd1f-7ecb-4221-8110-145efaa6372f": "Beta",
}
GUID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*/?\s*\Z", re.IGNORECASE)


def channel_of(url: t.Any) -> str | None:
    """The channel an update URL names, or None when it names none this collection knows (a local share, say)."""
    match = GUID.search(str(url or ""))
    return CHANNELS.get(match.group(1).lower()) if match else None


class ClickToRun(Concern):
    NAME = "click_to_run"
    FACTS_KEY = "click_to_run"

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        yield from (RegistryRef(CONFIGURATION, name) for name in CONFIGURATION_VALUES)
        yield from (RegistryRef(UPDATE_POLICY, name) for name in POLICY_VALUES)
        yield from (RegistryRef(key, name) for key, _source in TOKEN_FOLDER_SOURCES[:2] for name in TOKEN_FOLDER_VALUES)
        yield from (RegistryRef(CONFIGURATION, name) for name in TOKEN_FOLDER_VALUES)

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return Plan(facts=click_to_run_facts(state))


def click_to_run_facts(state: HostState) -> dict[str, t.Any]:
    def value(key: RegistryKey, name: str) -> t.Any:
        stored = state.registry.get(RegistryRef(key, name))
        return None if stored is None else stored.value

    if not state.registry.key_exists(CONFIGURATION) and value(CONFIGURATION, "VersionToReport") is None:
        return {"installed": False}
    policy_path, policy_branch = value(UPDATE_POLICY, "UpdatePath"), value(UPDATE_POLICY, "UpdateBranch")
    recorded = value(CONFIGURATION, "UpdateChannel") or value(CONFIGURATION, "CDNBaseUrl")
    if policy_path:
        source, channel = "policy UpdatePath", channel_of(policy_path)
    elif policy_branch:
        source, channel = "policy UpdateBranch", str(policy_branch)
    else:
        source, channel = ("UpdateChannel" if value(CONFIGURATION, "UpdateChannel") else "CDNBaseUrl"), channel_of(recorded)
    releases = value(CONFIGURATION, "ProductReleaseIds")
    return {
        "installed": True,
        "version": value(CONFIGURATION, "VersionToReport"),
        "platform": value(CONFIGURATION, "Platform"),
        "products": [item.strip() for item in str(releases).split(",") if item.strip()] if releases else [],
        "channel": channel,
        "channel_source": source,
        "update_url": policy_path or recorded,
        "shared_computer_activation": str(value(CONFIGURATION, "SharedComputerLicensing") or "") == "1",
        "token_folder": token_folder(value),
        **update_control(value),
    }


def token_folder(value: t.Callable[[RegistryKey, str], t.Any]) -> dict[str, str] | None:
    """The folder shared computer activation keeps its licensing tokens in instead of the user's %LOCALAPPDATA%, as
    written (environment variables are the user's), and where that was set; None when no source turns the override on."""
    for key, source in TOKEN_FOLDER_SOURCES:
        folder = value(key, "SCLCacheOverrideDirectory")
        if str(value(key, "SCLCacheOverride") or "").strip().lower() in ("1", "true") and isinstance(folder, str) and folder.strip():
            return {"path": folder.strip(), "source": source}
    return None


def update_control(value: t.Callable[[RegistryKey, str], t.Any]) -> dict[str, t.Any]:
    """What decides which update Click-to-Run installs: a pinned target (policy UpdateTargetVersion, else the
    configuration's UpdateToVersion), and whether updates are off (policy EnableAutomaticUpdates 0, configuration
    UpdatesEnabled False) or managed by Configuration Manager (policy OfficeMgmtCOM 1)."""
    pinned = value(UPDATE_POLICY, "UpdateTargetVersion")
    target = ({"version": str(pinned), "source": "policy UpdateTargetVersion"} if pinned else
              {"version": str(value(CONFIGURATION, "UpdateToVersion")), "source": "UpdateToVersion"} if value(CONFIGURATION, "UpdateToVersion")
              else None)
    off = [source for source, is_off in (("policy EnableAutomaticUpdates 0", str(value(UPDATE_POLICY, "EnableAutomaticUpdates")) == "0"),
                                         ("UpdatesEnabled False", str(value(CONFIGURATION, "UpdatesEnabled") or "").lower() == "false")) if is_off]
    return {"update_target": target, "updates_off": off, "updates_managed_by_configmgr": str(value(UPDATE_POLICY, "OfficeMgmtCOM")) == "1"}
