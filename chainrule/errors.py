"""Error types a caller may catch; the command line turns each into one line on stderr."""


class ChainruleError(Exception):
    """Base class of chainrule's own errors."""


class InputError(ChainruleError):
    """Unusable input (a missing, unreadable or malformed file, a bad argument): exit code 2."""
