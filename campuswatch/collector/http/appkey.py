"""How a request handler reaches the collector service: the key the app keeps it under."""

from __future__ import annotations

from aiohttp import web

from campuswatch.collector.service import CollectorService

SERVICE = web.AppKey("campuswatch", CollectorService)
