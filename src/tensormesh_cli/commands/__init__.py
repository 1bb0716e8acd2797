"""Subcommand groups of `tm`, each imported only when it runs."""
