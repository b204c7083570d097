"""A sitecustomize for the processes the cost command starts (see local/call_log.py)."""
