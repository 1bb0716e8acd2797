"""The Control Plane surface (API.md §2): a Starlette app over service functions and the store.

`app.create_app` builds it; `routes/` are the thin HTTP layer (one module per resource),
`services/` hold the rules (sync functions over a SQLAlchemy session, run in worker threads),
`login_page` renders the browser sign-in and approve page, `openapi` the API document.
"""
