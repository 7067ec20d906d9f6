"""Measuring the training loop itself: host synchronisations and the cost of each pass."""

from dfkd.diagnostics.host_syncs import HostSyncCounter, count_host_syncs, explicit_synchronize

__all__ = ["HostSyncCounter", "count_host_syncs", "explicit_synchronize"]
