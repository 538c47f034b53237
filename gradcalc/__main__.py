"""python -m gradcalc"""

from .cli import entry

entry()
