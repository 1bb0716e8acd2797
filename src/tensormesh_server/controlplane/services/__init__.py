"""The rules of the Control Plane: sync functions over a SQLAlchemy session and an explicit `now`.

Routes run them in worker threads; operator commands call them directly. They raise `CPError`.
"""
