"""The podpipe commands, one module per area; pipeline.cli imports each only when it runs."""
