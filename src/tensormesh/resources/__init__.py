"""API resources, mirroring the REST tree (`inference.serverless.chat.completions`, ...)."""
