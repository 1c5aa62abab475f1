"""Pulumi stacks that build the pools and tenants on Kubernetes, and node preparation.

The CLI uses these modules: `engine` (the Pulumi engine for a state directory and a
cluster), `programs` (`Cluster`), `layout` (`StateDir`), `operations` (apply, onboard,
resize), `offboarding`, `changes` (what a preview says), `errors` (the exception family).
Layout and reasons: stacks/README.md.

Nothing is imported here: `citycloud.stacks.nodes` (Ansible, the nodes extra) must import
without the Pulumi SDK (the deploy extra), and a package that imported its engine would
load pulumi first.
"""
