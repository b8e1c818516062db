"""What scripts/check-wheel runs inside the fresh venv that holds the built wheel."""
