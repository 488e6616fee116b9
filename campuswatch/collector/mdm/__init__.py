"""The city's MDM, read centrally: the pupils' iPads per school, as aggregates (never one ticket per iPad).

``jamf.py`` is the only code that talks to the MDM (Jamf Pro's REST API); ``fleet.py`` turns its
inventory into one :class:`~campuswatch.collector.model.IpadFleet` per school (pure); the collector's
rules judge those aggregates like any reading (``thresholds`` on ``ipads.*``), as problems of the
school itself.
"""
