"""Errors that end a command with a one-line message, kept apart from the modules that raise
them so that the command line can catch them without importing MQTT or the evaluator (every
``hypnic replay`` would pay for that at start-up)."""


class MqttSetupError(Exception):
    """The MQTT settings cannot work (an unreadable password or certificate file), worded as
    one line that names the file and the fix."""


class EvaluationError(Exception):
    """A folder or truth file that cannot be evaluated; the message says what and how to fix."""


class StoreError(Exception):
    """A problem with the event log, worded as one line that names the file and the fix."""
