# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_required_services
short_description: Make sure the services Microsoft 365 activation needs are running
version_added: 0.1.0
description:
  - Fixes the "make sure required services are running" step of the Microsoft article on activation errors
    0xCAA70007 and 0xCAA80000, for Network Connected Devices Auto-Setup (C(NcdAutoSetup)), Network List Service
    (C(netprofm)), Network Location Awareness (C(NlaSvc)) and Windows Event Log (C(EventLog)), or the services given.
  - Services are addressed by short name only; display names are localized and never used.
  - A service whose start mode is Disabled gets its Windows default start mode back (O(services[].default_start_mode));
    other start modes are left as they are.
  - A stopped service is started; services are handled in dependency order, and the Service Control Manager starts
    a service's own dependencies first. A trigger-start service that is stopped and not Disabled is resting (Windows
    starts it on its trigger) and is reported in RV(services.resting_trigger_start), not started.
  - Start modes are read from the service's registry key (C(Start), C(DelayedAutostart)), which every .NET Framework
    release can read.
  - A service that will not start fails the task with the service, the Win32 error and the article's next step
    (C(sfc /scannow) from an elevated prompt, then a restart). Changes made before the failure are returned in RV(backup).
  - With O(sfc_on_failure=true) the module runs C(sfc /scannow) itself when a service will not start, then tries that
    service and the ones after it once more (a third agent run). The result lists it under RV(repairs).
  - A service that does not exist on the host fails the task, naming it (Win32 error 1060), before anything changes;
    a service that arrived with a later release than the host's (C(NcdAutoSetup), Windows 8 / Server 2012) is
    reported in RV(services.not_applicable) instead.
options:
  services:
    description:
      - The services to check. Default is the article's four with their Windows default start modes
        (C(EventLog) and C(NlaSvc) C(auto), C(netprofm) and C(NcdAutoSetup) C(manual)).
    type: list
    elements: dict
    default:
      - {name: EventLog, default_start_mode: auto}
      - {name: NlaSvc, default_start_mode: auto}
      - {name: netprofm, default_start_mode: manual}
      - {name: NcdAutoSetup, default_start_mode: manual}
    suboptions:
      name:
        description: Service short name, for example C(NlaSvc).
        type: str
        required: true
      default_start_mode:
        description: The start mode a Disabled service gets back.
        type: str
        choices: [auto, delayed, manual]
        default: manual
  start_timeout:
    description: Seconds to wait for each service to reach Running (1 to 3600).
    type: int
    default: 60
  sfc_on_failure:
    description:
      - Run System File Checker (C(%SystemRoot%\System32\sfc.exe /scannow)) when a service will not start for a reason that is
        not its configuration (not 1058 Disabled, 1068/1075 dependency, 5 access denied, or a timeout), then retry once.
      - C(sfc /scannow) can take tens of minutes; WinRM keeps the command alive meanwhile. Its output is returned raw
        (base64) and never interpreted; only its exit code is reported.
    type: bool
    default: false
  enable_dependencies:
    description:
      - Give a Disabled service that the listed services depend on, directly or not (the DHCP Client that NlaSvc needs,
        say), its Windows default start mode (or manual when none is known) and start it before them.
      - When false it is reported in RV(blockers), and the start of its dependents fails with Win32 error 1068.
    type: bool
    default: true
  sfc_timeout:
    description: Seconds C(sfc /scannow) may run before it is stopped (1 to 3600).
    type: int
    default: 3600
extends_documentation_fragment:
  - m365ops.activation.concern
seealso:
  - module: m365ops.activation.win_ncsi
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: The article's four services running
  m365ops.activation.win_required_services:

- name: Also the DHCP client, giving Event Log more time
  m365ops.activation.win_required_services:
    services:
      - name: EventLog
        default_start_mode: auto
      - name: NlaSvc
        default_start_mode: auto
      - name: netprofm
      - name: NcdAutoSetup
      - name: Dhcp
        default_start_mode: auto
    start_timeout: 120

- name: Let the module run sfc /scannow when a service will not start
  m365ops.activation.win_required_services:
    sfc_on_failure: true
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description:
    - Restore records of what was actually changed (C(kind) C(service_start_mode) or C(service_status), C(service),
      C(before), C(after)). Returned when changes were applied.
  returned: changed and not check mode
  type: list
  elements: dict
backup_file:
  description: Path of the backup record written on the controller.
  returned: when O(backup_dir) is set and something changed
  type: str
blockers:
  description: Conditions that keep the host non-compliant and that this module cannot fix. Also raised as warnings.
  returned: always
  type: list
  elements: str
changes:
  description: Each start mode or status the task changed (or, in check mode, would change), with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    service:
      description: Service short name.
      type: str
    setting:
      description: C(start_mode) or C(status).
      type: str
    before:
      description: The start mode or status found.
      type: str
    after:
      description: The start mode or status set.
      type: str
    reason:
      description: Why it does not meet the article's requirement.
      type: str
check_mode:
  description: Whether the task ran in check mode (the reported changes were predicted, not made).
  returned: always
  type: bool
diff:
  description: What the task changed (or, in check mode, would change), as C(before) and C(after) text.
  returned: with C(--diff), when something changed or would change
  type: dict
drift:
  description: What differs from what the article needs and was left in place with the options given, with the evidence.
  returned: always
  type: list
  elements: str
interrupted:
  description:
    - Batches of earlier runs on this host whose answer never came back (the host's journal, or a C(planned) document
      under O(backup_dir)), each with its C(run_id), C(module), C(created), C(found_on), C(planned), how many changes are
      C(in_effect), C(not_made), C(changed_since) or C(unknown), and C(in_effect_targets). Outside check mode their
      backup is kept by this run (the collection's docs/restore.md).
  returned: when an earlier run was interrupted
  type: list
  elements: dict
journal:
  description:
    - When the changes went out and their answer never came back (RV(status) C(unknown)) - C(run_id), C(planned_file)
      (the write-ahead record on the controller, with O(backup_dir)) and C(planned_changes). The host keeps the same
      records in its own journal, and the next run settles them.
  returned: when the answer to the changes never came back
  type: dict
reboot_owed_by:
  description:
    - Concerns whose earlier changes still wait for a restart of this host (remembered on the host under
      C(HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired) with the boot time, until the host has restarted).
  returned: always
  type: list
  elements: str
reboot_required:
  description:
    - False after starting services or changing start modes; true after C(sfc /scannow) ran (it finishes some repairs at the
      next restart), in this task or an earlier one the host has not restarted since.
  returned: always
  type: bool
repairs:
  description: Repair ops run after a service would not start (with O(sfc_on_failure=true)), with C(ok) and C(exit_code).
  returned: when a repair ran
  type: list
  elements: dict
services:
  description: What the module found.
  returned: always
  type: dict
  contains:
    found:
      description: Start mode and status of each service found, before this task.
      type: dict
    missing:
      description: Services that do not exist on the host (the task fails).
      type: list
      elements: str
    not_applicable:
      description: Services that arrived with a later Windows release than the host's, so their absence is expected.
      type: list
      elements: str
    dependencies:
      description: Start mode and status of every service the listed ones depend on, directly or not.
      type: dict
    reported:
      description:
        - Start mode and status of other services on Office's sign-in and activation path (C(TokenBroker), C(wlidsvc),
          C(ClickToRunSvc), C(CryptSvc), C(Dnscache), C(WinHttpAutoProxySvc)), or null when absent. Reported, never changed.
      type: dict
    resting_trigger_start:
      description: Trigger-start services found stopped and left so (Windows starts them on their trigger).
      type: list
      elements: str
status:
  description:
    - C(compliant), C(remediated), C(drift), C(blocked) or C(failed), as the collection's compliance report explains each;
      C(busy) when the host restarted, or another run of the collection changed it, after this task read it (nothing was
      changed; run again); C(unknown) when the changes went out and their answer never came back (see RV(journal)).
  returned: always
  type: str
"""
