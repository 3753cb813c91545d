"""Deep Linking 2.0 responses: the items a course designer picked, signed with the tool's kid."""
from __future__ import annotations

from typing import Any, Optional

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from ..content.items import CatalogueItem
from .tool_config import to_registration

RESOURCE_LINK = "ltiResourceLink"


class DeepLinkSettingsError(ValueError):
    pass


def check_settings(settings: dict[str, Any]) -> None:
    """Refuse, with a reason a course designer understands, what the tool cannot answer."""
    if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
        raise DeepLinkSettingsError("The platform did not say where to send the chosen items.")
    if RESOURCE_LINK not in (settings.get("accept_types") or []):
        accepted = ", ".join(settings.get("accept_types") or []) or "nothing"
        raise DeepLinkSettingsError(
            f"This place in the course accepts {accepted}, but the tool provides LTI links to its "
            "activities. Add the tool from a place that accepts external tool links (Canvas: a module "
            "item or assignment; Moodle: an External tool activity).")
    targets = settings.get("accept_presentation_document_targets") or []
    if not {"iframe", "window"} & set(targets):
        raise DeepLinkSettingsError("The platform accepts neither iframe nor window presentation.")


def presentation(settings: dict) -> str:
    targets = settings.get("accept_presentation_document_targets") or []
    return "iframe" if "iframe" in targets else "window"


def accepts_multiple(settings: dict) -> bool:
    value = settings.get("accept_multiple")
    return value is True or str(value).lower() == "true"


class _Resource(DeepLinkResource):
    """pylti1p3's resource plus the `text`, `window`/`iframe` presentation keys of DL 2.0."""

    text: Optional[str] = None
    target_key: str = "iframe"

    def to_dict(self):
        out = super().to_dict()
        if self.text:
            out["text"] = self.text
        out[self.target_key] = {}
        return out


def response_jwt(platform, deployment_id: str, settings: dict, items: list[CatalogueItem],
                 launch_url: str) -> str:
    registration = to_registration(platform)
    link = DeepLink(registration, deployment_id, settings)
    resources = []
    for item in items:
        res = _Resource()
        res.set_type(RESOURCE_LINK).set_title(item.title).set_url(launch_url)
        res.text = f"{item.kind_label} · {item.group}"
        res.target_key = presentation(settings)
        res.set_custom_params({"npq_item": item.ref, "npq_programme": item.programme})
        if item.marked and item.score_maximum:
            line = LineItem()
            line.set_score_maximum(item.score_maximum).set_label(item.title)
            line.set_resource_id(item.ref).set_tag("npq-" + (item.marking or "marked"))
            res.set_lineitem(line)
        resources.append(res)
    message = link.get_message_jwt(resources)
    if message.get("https://purl.imsglobal.org/spec/lti-dl/claim/data") is None:
        # Echo `data` only when the platform sent it.
        message.pop("https://purl.imsglobal.org/spec/lti-dl/claim/data")
    return link.encode_jwt(message)
