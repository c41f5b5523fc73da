"""Builder errors: the message is one line written for the user; `cli/` maps them to exit 1."""


class BuilderError(Exception):
    """Base class for everything the builder refuses or fails to do."""


class StackError(BuilderError):
    """The stack file cannot be used as written."""


class TemplateError(BuilderError):
    """A template is missing, malformed or cannot be fetched."""


class ContextError(BuilderError):
    """A handler folder or an uploaded archive cannot become a build context."""


class ArchiveTooLarge(ContextError):
    """An uploaded build context, packed or unpacked, is past the server's size cap."""
