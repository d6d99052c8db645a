"""The HTTPS API (DESIGN.md §5): API Gateway REST proxy events in, JSON and problem+json out."""
