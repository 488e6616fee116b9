"""External ticket systems behind :class:`~campuswatch.collector.tickets.sink.TicketSink`: Request Tracker, Zammad,
a signed JSON webhook and e-mail. Build them from config with :func:`campuswatch.collector.tickets.sinks.config.build_sink`.
"""
