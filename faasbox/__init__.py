"""faasbox: an OpenFaaS-compatible functions appliance in one asyncio process."""

__version__ = "0.1.0"
