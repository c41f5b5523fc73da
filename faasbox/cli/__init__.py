"""The `faasbox` command: server verbs and faas-cli-compatible client verbs."""
