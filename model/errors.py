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


def read_json(path, error: type[Exception], what: str):
    """The parsed JSON document in the file at `path`; every way it can fail is raised as `error` with one
    line naming the file and saying it is not a `what` (a model card, a track file)."""
    import json

    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except OSError as exc:
        raise error(file_error(path, f"cannot read the {what} ({exc.strerror or exc})")) from None
    except UnicodeDecodeError as exc:
        raise error(file_error(path, f"not a {what} (not UTF-8 text at byte {exc.start})")) from None
    except json.JSONDecodeError as exc:
        raise error(file_error(path, f"not valid JSON ({exc.msg} at line {exc.lineno})")) from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert, nesting too deep
        raise error(file_error(path, f"not a {what} ({one_line(exc)})")) from None
