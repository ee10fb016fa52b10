"""Secrets: how a profile references them (references), one module per store behind one
interface (vault, aws; stores picks them), resolution for a run, provisioning (secrets init),
the rotation audit, and the certificates."""
