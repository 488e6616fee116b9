"""The collector's ``/metrics``: the fleet state fed by domain events (:mod:`.view`, :mod:`.fleet`), the
metric catalogue and its text rendering (:mod:`.exposition`), supply and lamp forecasts (:mod:`.forecast`)."""
