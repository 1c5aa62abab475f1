"""Prometheus collectors, rules and dashboards for the ops team.

`exporter.build` puts the collectors together over a registry (and, through
`cluster.read`, every live cluster the registry declares, each through its kubeconfig
context, read at once); `server.serve` serves them on /metrics;
`report.write` draws the static capacity report. Rules and dashboards live
beside the code in rules/ and dashboards/ (see their README).
"""

from citycloud.monitoring import (
           cluster,
           exporter,
           findings,
           live,
           network_metrics,
           pool_metrics,
           report,
           server,
           sharing_metrics,
           sources,
)

__all__ = ["cluster", "exporter", "findings", "live", "network_metrics", "pool_metrics", "report",
           "server", "sharing_metrics", "sources"]
