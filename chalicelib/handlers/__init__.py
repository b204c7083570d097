"""Bodies of the event handlers app.py declares: ingest from SQS, retention on a schedule."""
