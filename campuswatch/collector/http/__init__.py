"""The collector's HTTP side: the app factories and the way to serve them."""

from campuswatch.collector.http.app import create_app, create_metrics_app
from campuswatch.collector.http.server import start_server

__all__ = ["create_app", "create_metrics_app", "start_server"]
