"""Pulumi stacks that build the pools and tenants on Kubernetes, and node preparation."""
