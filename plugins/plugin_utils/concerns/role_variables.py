# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role variables a concern's options are read from: ``m365ops_<concern>``, and until 0.5.0 the separate
per-option variables of the 0.3 roles (lookup concern_options reads both; the fleet role compares both across its
hosts before it decides what win_activation is given once for the play)."""

from __future__ import annotations

import typing as t

# Deprecated (removed in 0.5.0): the separate role variables of 0.3, per concern, option to variable. Options added since
# never had one.
LEGACY_VARIABLES: dict[str, dict[str, str]] = {
    "tls12": {option: f"tls12_{option}" for option in (
        "server", "winhttp", "wininet", "wininet_users", "wininet_signed_out", "dotnet", "require_kb3140245", "kb3140245_file_versions")},
    "winhttp_proxy": {option: f"winhttp_proxy_{option}" for option in ("proxy", "bypass", "direct", "source", "wininet_user")},
    "ncsi": {"policy": "ncsi_policy", "restore_probe_defaults": "ncsi_restore_probe_defaults"},
    "required_services": {"services": "required_services_list", "start_timeout": "required_services_start_timeout",
                          "sfc_on_failure": "required_services_sfc_on_failure", "enable_dependencies": "required_services_enable_dependencies"},
    "winsock_reset": {"winsock": "winsock_reset_winsock", "ip": "winsock_reset_ip", "force_token": "winsock_reset_force_token",
                      "allow_static_ip_reset": "winsock_reset_allow_static_ip_reset", "reset_third_party": "winsock_reset_third_party"},
    "office_credentials": {option: f"office_credentials_{option}" for option in (
        "patterns", "timeout_seconds", "users", "work_accounts", "other_targets")},
    "office_license": {option: f"office_license_{option}" for option in ("files", "timeout_seconds", "users", "signed_out")},
    "office_update": {option: f"office_update_{option}" for option in ("minimum_version", "close_apps", "timeout_seconds")},
    "ipv6": {option: f"ipv6_{option}" for option in ("adapters", "method", "allow_management_adapter")},
}


def legacy_variables(concern: str) -> dict[str, str]:
    """Option name to the deprecated role variable that gave it."""
    return LEGACY_VARIABLES.get(concern, {})


def option_variables(concerns: t.Iterable[str]) -> list[str]:
    """Every variable the options of ``concerns`` are read from, each concern's ``m365ops_<concern>`` first."""
    return [name for concern in concerns for name in (f"m365ops_{concern}", *legacy_variables(concern).values())]
