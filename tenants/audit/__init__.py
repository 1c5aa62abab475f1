"""The audit trail: the hash-chained record of every mutating command (trail), and checking
and shortening it (chain)."""
