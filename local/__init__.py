"""The embedded AWS: moto server, the template deployed onto it, the API, the worker, the scheduler, demo data."""
