"""Public status page: component health, incidents, maintenance, subscriptions and problem reports."""
