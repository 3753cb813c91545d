"""Launch failures: each becomes a clear 4xx page saying what happened and who can fix it."""
from __future__ import annotations


class LaunchError(Exception):
    status = 400
    title = "This launch could not be completed"
    # Who can put it right, shown on the page.
    fix = "Go back to your course and open the activity again. If it keeps happening, tell your course administrator."

    def __init__(self, detail: str, *, title: str | None = None, fix: str | None = None,
                 status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if title:
            self.title = title
        if fix:
            self.fix = fix
        if status:
            self.status = status


class InvalidToken(LaunchError):
    title = "The launch message could not be trusted"


class StateError(LaunchError):
    title = "This launch has expired or was already used"
    fix = ("Launches can be used once and only for a few minutes. Go back to your course and "
           "open the activity again.")


class CookiesBlocked(StateError):
    title = "Your browser blocked the tool's cookie"
    fix = ("Your browser did not send back the cookie the tool set a moment ago, which happens "
           "when third-party cookies are blocked. Open the activity in a new window, or allow "
           "cookies for this site.")


class RegistrationError(LaunchError):
    status = 403
    title = "This platform is not set up to use the tool"
    fix = ("A provider admin must register this platform (issuer and client ID) in the tool's "
           "admin pages, or approve it if it registered itself.")


class DeploymentError(LaunchError):
    status = 403
    title = "This deployment of the tool is not approved"
    fix = ("A provider admin must approve this deployment ID in the tool's admin pages "
           "(Platforms → the platform → Deployments).")


class UnsupportedMessage(LaunchError):
    title = "The tool does not handle this kind of launch"
    fix = "Ask your course administrator to check how the tool was added to the course."
