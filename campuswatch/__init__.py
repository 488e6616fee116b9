"""campuswatch: monitoring and ticketing for a city's school IT."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("campuswatch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
