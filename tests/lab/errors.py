"""The one exception the lab raises for problems a user can fix."""


class LabError(Exception):
    """A prerequisite is missing or a component failed.

    The message is one sentence that says how to fix it; `detail` (optional) carries
    supporting text such as the last lines of a log, printed after the sentence.
    """

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.detail = detail

    def __str__(self):
        text = super().__str__()
        return f"{text}\n{self.detail}" if self.detail else text
