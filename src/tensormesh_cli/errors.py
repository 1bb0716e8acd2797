"""Exit codes and the errors the CLI shows as one line on stderr."""

from __future__ import annotations

from typing import IO, Any

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 4
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """An error the user can act on: printed as `Error: <message>`, then exit 1."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


class AuthRequired(CliError):
    """A credential is missing or was rejected (exit code 4)."""

    exit_code = EXIT_AUTH


class InputError(CliError):
    """The user's input (a flag, a JSON body, a file) is unusable (exit code 2)."""

    exit_code = EXIT_USAGE
