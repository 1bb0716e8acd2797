"""The local Tensormesh platform: the serverless inference surface and the control plane.

Layout: `settings` / `models_config` (what `tm server up` resolved), `app` (the ASGI surface of
API.md §1 on the plumbing in `asgi`), `validation`, `auth` (`KeyVerifier`), `responses_api`
(Responses on top of chat), `sse`, `metrics`, `engines` (`embedded` llama.cpp, `openai`
upstreams, one `Engine` interface), `controlplane` (API.md §2: routes -> services -> `store`),
`store` (SQLAlchemy models, Alembic migrations), `security` (hashing, tokens, rate limits),
`serve` (uvicorn, signals, both surfaces in one process) and `testing` (a fake upstream).
Nothing heavy is imported here.
"""
