"""Subject access and erasure in a real browser: an admin signs in, finds a participant, downloads
their archive, previews the erasure and confirms it. Screenshots in test-artifacts/privacy/."""
from __future__ import annotations

import secrets
import zipfile

from lti_tool.cli import create_admin

from .browser_support import ARTIFACTS, chromium_page
from .test_marking import _course, _submit_as

SHOTS = ARTIFACTS / "privacy"


def test_admin_finds_downloads_and_erases_a_person(app, platform, tmp_path):
    SHOTS.mkdir(exist_ok=True)
    course = _course(platform)
    _submit_as(platform, course, "p-erin-" + secrets.token_hex(3), "Erin Wainwright", description="Erin's risk")
    name, password = "privacy-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with app.app_context():
        create_admin(name, password)
    for width, label in ((360, "phone"), (1280, "wide")):
        with chromium_page(viewport=(width, 900)) as page:
            page.goto(platform.tool_url + "/admin/login")
            page.get_by_label("Username").fill(name)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Admin").get_by_role("link", name="People").click()
            page.get_by_role("heading", name="People").wait_for()
            page.get_by_label("Name, email or VLE user ID").fill("erin WAIN")
            page.get_by_role("button", name="Search").click()
            page.get_by_role("heading", name="1 person matches").wait_for()
            page.screenshot(path=str(SHOTS / f"people-search-{label}.png"), full_page=True)
            if label == "phone":
                continue  # the phone run looks at the search; the wide run goes on to erase
            page.get_by_role("link", name="Erin Wainwright").click()
            page.get_by_role("heading", name="What is held about them").wait_for()
            page.screenshot(path=str(SHOTS / "person.png"), full_page=True)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download their data (ZIP)").click()
            saved = tmp_path / "erin.zip"
            download.value.save_as(saved)
            (SHOTS / "summary.pdf").write_bytes(zipfile.ZipFile(saved).read("summary.pdf"))  # to look at
            names = zipfile.ZipFile(saved).namelist()
            assert "summary.pdf" in names and "writeups.json" in names
            assert "Erin's risk" in zipfile.ZipFile(saved).read("writeups.json").decode()

            page.get_by_role("link", name="Erase…").click()
            page.get_by_role("heading", name="Kept, and why").wait_for()
            page.screenshot(path=str(SHOTS / "erase-preview.png"), full_page=True)
            page.get_by_label("Type ERASE to confirm").fill("ERASE")
            page.get_by_role("button", name="Erase this person").click()
            page.get_by_text("Erased. The person is now").wait_for()
            assert page.get_by_role("heading", level=1).inner_text().startswith("Erased participant ")
            page.screenshot(path=str(SHOTS / "erased.png"), full_page=True)
