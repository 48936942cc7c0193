"""The command line's exit statuses, one meaning each (shells and CI scripts branch on them)."""

#: The command finished but reports failures: ``qlatent samples list`` met a sidecar failing its
#: checks (it reads sidecars only) or ``verify`` any damaged file, some runs of ``qlatent sweep``
#: failed while the others completed, or ``qlatent recordings`` listed a recording as PROBLEM or
#: STALE (as ``diff`` exits 1).
EXIT_FINDINGS = 1

#: An error: bad input, a missing or damaged file, a failed notebook or run, a usage error (one line
#: on stderr each).
EXIT_ERROR = 2

#: A command stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

#: A command stopped by SIGTERM after it cleaned up (128 + SIGTERM, as shells report a process it ended).
EXIT_TERMINATED = 143


def error_line(message: object) -> str:
    """The one line an error prints on stderr, ``qlatent: error: MESSAGE``, with any line break inside
    the message (a file name may hold one) written as ``\\n`` so that it stays one line."""
    text = str(message).replace("\r", "\\r").replace("\n", "\\n")
    return f"qlatent: error: {text}"
