"""The status-change event feed for MIS (GET /api/events) and its NATS JetStream fan-out."""
