"""Reports in: the door (:mod:`.door`: decoding, bounds, clocks), folding polls into devices' state
(:mod:`.fold`, pure), and the :class:`Ingestor` that writes a batch at once and judges its school."""

from campuswatch.collector.ingest.door import (
    BadReport,
    ReportRejected,
    Unauthorized,
    WrongSchool,
    parse_batch,
)
from campuswatch.collector.ingest.ingestor import Ingestor

__all__ = ["BadReport", "Ingestor", "ReportRejected", "Unauthorized", "WrongSchool", "parse_batch"]
