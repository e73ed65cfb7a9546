"""The framework of the platform: app factory, add-on system, tenancy, shared services."""
