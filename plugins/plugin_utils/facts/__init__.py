# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What win_activation_facts reads beside the concerns: Click-to-Run, the endpoints checked from the host, network
adapters, signed-in users, Windows Update and WinRM quotas. Each is a read-only ``Concern``."""
