"""The JSON API under /api/v1: routers, input/output schemas and dependencies."""
