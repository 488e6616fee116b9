"""Storage of the collector: one small interface per aggregate (:mod:`.protocols`), implemented on SQLite
(:mod:`.sqlite`), and the portable schema both keep (:mod:`.schema`)."""
