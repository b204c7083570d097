"""Everything the Lambda functions run: packaged by Chalice beside app.py."""
