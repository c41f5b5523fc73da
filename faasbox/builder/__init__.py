"""Stack files, templates, build contexts, image builds: shared by the CLI and build endpoint."""
