"""The sandbox VLE in a real browser: the tool launches inside the course page's iframe."""
from __future__ import annotations

from pathlib import Path

import pytest

from .browser_support import ARTIFACTS, chromium_page


@pytest.mark.parametrize("who,heading", [("participant", "Your progress"), ("tutor", "The course's activities")])
def test_sandbox_launch_in_iframe(tool, who, heading):
    with chromium_page() as page:
        page.goto(f"{tool.url}/sandbox/?as={who}")
        page.get_by_role("link", name="NPQ Learning – course home").click()
        frame = page.frame_locator("iframe.vle-frame")
        frame.get_by_role("heading", name=heading).first.wait_for(timeout=15000)
        assert frame.get_by_text("Senior Leadership").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / f"sandbox-{who}.png"), full_page=True)


def test_sandbox_deep_linking_picker_in_browser(tool):
    with chromium_page() as page:
        page.goto(f"{tool.url}/sandbox/?as=tutor")
        page.get_by_role("link", name="+ Add NPQ content (Deep Linking)").click()
        frame = page.frame_locator("iframe.vle-frame")
        frame.get_by_role("heading", name="Add NPQ items to your course").wait_for(timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "picker.png"))
        frame.get_by_label("Search").fill("implementation")
        frame.get_by_role("button", name="Show").click()
        frame.get_by_text("matching “implementation”").wait_for()
        frame.locator("input[name=item]").nth(0).check()
        frame.locator("input[name=item]").nth(3).check()
        frame.get_by_role("button", name="Add to course").click()
        frame.get_by_role("heading", name="Added 2 items to the course").wait_for(timeout=15000)
        page.goto(f"{tool.url}/sandbox/?as=participant")
        assert page.locator(".vle-links li").count() >= 3
