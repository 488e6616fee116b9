"""The collector's HTTP side: the app factory and the way to serve it."""

from campuswatch.collector.http.app import create_app
from campuswatch.collector.http.server import start_server

__all__ = ["create_app", "start_server"]
