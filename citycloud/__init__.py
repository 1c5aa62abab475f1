"""citycloud: the orchestrator of a city's unified government cloud.

The repository keeps the brief's five top-level folders (cli/, tenants/, policies/, stacks/,
monitoring/); this package gathers them under one import name, so an install puts only
`citycloud` into site-packages. In a checkout its sub-packages are links to those folders;
the wheel holds real copies.
"""
