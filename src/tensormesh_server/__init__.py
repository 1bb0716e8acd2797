"""The local Tensormesh platform: serverless gateway, engines (and later the control plane)."""
