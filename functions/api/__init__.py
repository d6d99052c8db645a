"""The HTTPS API (DESIGN §5): API Gateway REST proxy events in, JSON and problem+json out."""
