"""The embedded default for trying the tool: SQLite, sandbox VLE, demo data."""
SANDBOX_ENABLED = True
DEMO_DATA = True
AUTO_ACTIVATE_REGISTRATIONS = True
AUTO_ACCEPT_NEW_DEPLOYMENTS = True
