"""Supervisor metrics: KPI queries, dashboards, exports (and, beside them, targets and QA)."""
