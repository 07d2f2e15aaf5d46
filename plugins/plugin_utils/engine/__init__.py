# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's engine (private): the concern protocol, running concerns on a host in as few agent executions as
the work allows, the agent client and its op manifest, the write-ahead journal, signed backup records and the
statuses. Concerns (``plugin_utils/concerns``) and fact readers (``plugin_utils/facts``) build on it."""
