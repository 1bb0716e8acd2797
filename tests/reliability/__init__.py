"""Reliability suite: fuzzing of both OpenAPI documents and the security matrix."""
