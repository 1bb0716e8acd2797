"""Security primitives of the platform: password hashing, credential generation and hashing,
short login codes, and an in-memory rate limiter. No I/O, no database."""
