"""Public dashboards: rollups maintained from the event feed, open-data API, server-rendered pages."""
