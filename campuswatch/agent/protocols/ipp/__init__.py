"""Printers over IPP, a complement to SNMP: state, state reasons, marker supplies and problems.

``read_ipp_printer(url)`` is the one call that touches the network (``IppReader`` gives it to the agent's
registry); ``printer_reading(address, attrs)`` is the pure mapping from printer attributes to a
:class:`~campuswatch.report.DeviceReading`.
"""

from campuswatch.agent.protocols.ipp.attributes import printer_reading
from campuswatch.agent.protocols.ipp.client import IppReader, read_ipp_printer

__all__ = ["IppReader", "printer_reading", "read_ipp_printer"]
