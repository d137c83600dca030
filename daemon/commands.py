"""What Home Assistant (or anyone on the broker) may ask of the daemon, and how a request is
checked. Parsing is pure: the MQTT link turns a message into a ``Command`` or a one-line
reason it was refused, and the service loop carries commands out between Blocks."""

from __future__ import annotations

from dataclasses import dataclass

#: Command names, as the last part of the topic ``<base>/cmd/<name>``.
PAUSE = "pause"
SENSITIVITY = "sensitivity"
REMEASURE_NOISE_FLOOR = "remeasure_noise_floor"
COMMAND_NAMES = (PAUSE, SENSITIVITY, REMEASURE_NOISE_FLOOR)

SENSITIVITY_RANGE = (1, 10)


class CommandError(ValueError):
    """A command that was refused, worded as one line that says what would be accepted."""


@dataclass(frozen=True)
class Command:
    """``pause``: value True pauses monitoring, False resumes it. ``sensitivity``: the new
    sensitivity, 1-10. ``remeasure_noise_floor``: no value."""

    name: str
    value: bool | int | None = None


def parse_command(name: str, payload: bytes) -> Command:
    """The command a message on ``cmd/<name>`` asks for; CommandError if it is not valid."""
    if name not in COMMAND_NAMES:
        raise CommandError(
            f"unknown command {name!r}; the commands are " + ", ".join(COMMAND_NAMES)
        )
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandError(f"{name}: the payload is not UTF-8 text") from None
    shown = text if len(text) <= 40 else text[:37] + "..."
    if name == PAUSE:
        if text.upper() in ("ON", "OFF"):
            return Command(PAUSE, text.upper() == "ON")
        raise CommandError(f'{name}: expected "ON" or "OFF", got {shown!r}')
    if name == SENSITIVITY:
        lo, hi = SENSITIVITY_RANGE
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        # Home Assistant's number entity sends "7.0"; anything not a whole number is refused.
        if not (number.is_integer() and lo <= number <= hi):
            raise CommandError(f"{name}: expected a whole number {lo}-{hi}, got {shown!r}")
        return Command(SENSITIVITY, int(number))
    if text.upper() != "PRESS":
        raise CommandError(f'{name}: expected "PRESS", got {shown!r}')
    return Command(REMEASURE_NOISE_FLOOR)
