# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one catalog of the concerns: their names, the order a combined run applies them in, which run by default, and how
their options are checked in a combined task. The report, the playbooks' tags and argument specs and the modules'
documented choices are held to it by tests/unit/sanity/test_concern_catalog.py."""

from __future__ import annotations

import difflib
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ipv6 import Ipv6
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import Ncsi
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_credentials import OfficeCredentials
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_license import OfficeLicense
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_update import OfficeUpdate
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.required_services import RequiredServices
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.tls12 import Tls12
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.winhttp_proxy import WinHttpProxy
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.winsock_reset import WinsockReset
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, validate_options

# The order of the apply batch: protocols first, then the proxy WinHTTP will use, NCSI's values before the services
# (NlaSvc started here reads them), the Winsock reset (which owes a reboot), then the users' Office steps (credentials,
# activation state, then the update, which waits longest), IPv6 bindings last.
ORDER: tuple[Concern, ...] = (Tls12(), WinHttpProxy(), Ncsi(), RequiredServices(), WinsockReset(), OfficeCredentials(), OfficeLicense(),
                              OfficeUpdate(), Ipv6())
BY_NAME = {concern.NAME: concern for concern in ORDER}
# Asked for by name only: IPv6 off-and-on is a procedure around an activation retry (the ipv6 role), not a state to
# keep; the Office steps act in users' sessions (an audit must not start tasks there unless asked) and the update
# needs a version the site chooses.
DEFAULT_CONCERNS = ["tls12", "winhttp_proxy", "ncsi", "required_services", "winsock_reset"]
# The users' Office steps: run only when named, and only then listed in a report (the other concerns a run did not
# select are listed as not_selected).
OFFICE_STEPS = ("office_credentials", "office_license", "office_update")
# The combined modules' own options: which concerns, and one dict of options per concern.
OPTIONS_SPEC: dict[str, dict[str, t.Any]] = {
    "concerns": {"type": "list", "elements": "str", "default": DEFAULT_CONCERNS, "choices": [concern.NAME for concern in ORDER]},
    **{concern.NAME: {"type": "dict"} for concern in ORDER},
}


def concern_options(name: str, raw: t.Any, selected: bool) -> dict[str, t.Any] | None:
    """``raw`` validated by the concern's own spec; options of a concern that is not selected are checked when given."""
    concern = BY_NAME[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AnsibleActionFail(f"{name}: the options of the {name} concern must be a mapping, not {type(raw).__name__}")
    for option in raw:
        if option not in concern.ARGUMENT_SPEC:
            near = difflib.get_close_matches(str(option), list(concern.ARGUMENT_SPEC), n=1)
            hint = f" (did you mean {name}.{near[0]}?)" if near else f" (its options: {', '.join(sorted(concern.ARGUMENT_SPEC))})"
            raise AnsibleActionFail(f"{name}.{option}: not an option of the {name} concern{hint}")
    if not selected and not raw:
        return None
    return validate_options(concern, raw, prefix=name)


def selected_concerns(args: dict[str, t.Any]) -> list[tuple[Concern, dict[str, t.Any]]]:
    """The concerns ``args['concerns']`` names, in ``ORDER``, each with its validated options."""
    if not args["concerns"]:
        raise AnsibleActionFail("concerns: name at least one concern")
    chosen = set(args["concerns"])
    options = {concern.NAME: concern_options(concern.NAME, args.get(concern.NAME), concern.NAME in chosen) for concern in ORDER}
    return [(concern, options[concern.NAME] or {}) for concern in ORDER if concern.NAME in chosen]
