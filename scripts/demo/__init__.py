"""The demo of scripts/develop: a simulated GX and a real Home Assistant."""
