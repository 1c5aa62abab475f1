"""Shared security, standards, capacity and placement policies over the Platform model."""
