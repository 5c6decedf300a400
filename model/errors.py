"""One-line error messages for users: the project's single formatter of exceptions (one helper for all layers)."""


def one_line(error: BaseException) -> str:
    """The first line of an error's message, white space folded; the class name when it has no message.

    A DataLoader worker re-raises with the worker's traceback folded into the message: the last line of
    that traceback is the message the user needs.
    """
    text = str(error).strip()
    if "Original Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    first = text.splitlines()[0] if text else ""
    return " ".join(first.split()) or error.__class__.__name__


def file_error(path, problem: str) -> str:
    """The house format of a one-line error about a file: 'PATH: problem'."""
    return f"{path}: {problem}"
