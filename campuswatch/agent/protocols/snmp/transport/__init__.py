"""SNMP transport: ``SnmpClient`` turns a ``PollPlan`` into plain ``Varbinds`` (see client.py, types.py)."""

from campuswatch.agent.protocols.snmp.transport.client import FetchResult, SnmpClient, SnmpTransport

__all__ = ["FetchResult", "SnmpClient", "SnmpTransport"]
