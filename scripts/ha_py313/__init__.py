"""Rewrites that let a Home Assistant written for Python 3.14 import on 3.13 (the newer-HA test lane)."""
