"""The local Tensormesh platform: the serverless inference surface (and later the control plane).

Layout: `settings` / `models_config` (what `tm server up` resolved), `app` (the ASGI surface of
API.md §1 on the plumbing in `asgi`), `validation`, `auth` (`KeyVerifier`), `responses_api`
(Responses on top of chat), `sse`, `metrics`, `engines` (`embedded` llama.cpp, `openai`
upstreams, one `Engine` interface), `serve` (uvicorn, signals) and `testing` (a fake upstream).
Nothing heavy is imported here.
"""
