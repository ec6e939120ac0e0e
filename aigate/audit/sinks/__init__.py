"""Audit sinks, one module per kind behind `interface.AuditSink` (and `interface.AuditStore` for those read back)."""
