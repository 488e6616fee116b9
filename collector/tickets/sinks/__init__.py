"""External ticket systems behind :class:`~collector.tickets.sink.TicketSink`: Request Tracker, Zammad,
a signed JSON webhook and e-mail. Build them from config with :func:`collector.tickets.sinks.config.build_sink`.
"""
