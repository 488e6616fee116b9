"""Campus managers' rounds, planned from what the collector knows. Pure: no clock, no I/O.

``timetable``: schools.yaml's visit timetables and the school calendars -> each manager's next visits;
``worklist``: the fleet (devices, problems, tickets, forecasts) -> each visit's work list and pack list;
``parts``: which part a supply, a projector lamp or a UPS battery is (``mibs/parts.yaml``).
The service gathers the inputs and the HTTP layer shows the outcome.
"""
