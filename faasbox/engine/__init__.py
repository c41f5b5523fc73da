"""The only package that talks to Docker: everything else sees functions, not services."""
