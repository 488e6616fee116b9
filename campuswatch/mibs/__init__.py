"""Device knowledge as data (``*.yaml``): which OIDs mean what, per MIB and vendor.

A package only so that installing campuswatch ships these files with the code; nothing here runs.
"""

from pathlib import Path

#: Where the data files are, in a checkout and in an installed wheel alike.
DATA_DIR = Path(__file__).resolve().parent
