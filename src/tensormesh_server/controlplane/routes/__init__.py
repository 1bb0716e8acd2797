"""The HTTP layer of the Control Plane: thin handlers, one module per resource."""
