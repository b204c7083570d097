"""Deployment infrastructure: the CloudFormation merge template and checks on what `chalice package` makes of it."""
