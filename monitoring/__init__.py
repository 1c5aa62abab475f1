"""Prometheus collectors, rules and dashboards for the ops team."""
