"""safe-society-admin: the municipal IT admin's command line (admin.cli)."""
