"""SNMP transport: ``SnmpClient`` turns a ``PollPlan`` into plain ``Varbinds`` (see client.py, types.py)."""

from agent.snmp.client import FetchResult, SnmpClient

__all__ = ["FetchResult", "SnmpClient"]
