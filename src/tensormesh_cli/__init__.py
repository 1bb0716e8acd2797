"""The `tm` command line, built on the public tensormesh SDK."""
