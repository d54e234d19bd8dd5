"""Debian's Chromium and chromedriver (installed on demand), driven headless by Selenium.

The driver and browser paths are given to Selenium explicitly, so Selenium Manager never tries to download
a browser or driver of its own (the machines reach package registries only). `Page` holds the few moves the
tasks make: find visible text, click it, type, wait for the page to show something, save a screenshot.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from deploy.local.debian_packages import apt_install
from deploy.local.process_control import StackError

T = TypeVar("T")
WINDOW = (1920, 1200)


def _which(names: tuple[str, ...]) -> Path | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return Path(found)
    return None


def chromium_binaries() -> tuple[Path, Path]:
    """(chromium, chromedriver); installs Debian's `chromium` and `chromium-driver` when either is missing."""
    for _attempt in range(2):
        browser, driver = _which(("chromium", "chromium-browser")), _which(("chromedriver",))
        if browser and driver:
            return browser, driver
        apt_install(["chromium", "chromium-driver"])
    raise StackError("chromium / chromedriver not found even after installing chromium and chromium-driver")


def start_chromium(log_file: Path, profile: Path) -> webdriver.Chrome:
    """A headless Chromium with a fixed window size and an emptied `profile` folder, so no UI state (graph
    layout, dismissed dialogs) is remembered from an earlier check."""
    browser, driver = chromium_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the machines run as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    return webdriver.Chrome(service=Service(str(driver), log_output=str(log_file)), options=options)


class Page:
    """The browser as a user sees it: visible text, clicks, typing, waiting, screenshots."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")

    def open(self, path: str) -> None:
        """Go to a page of the UI, as from a bookmark."""
        self.driver.get(f"{self.base_url}{path}")

    def text(self) -> str:
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return ""

    def wait(self, what: str, found: Callable[[], T | None], timeout: float = 30.0, every: float = 0.5) -> T:
        """Poll `found` until it returns something truthy; TimeoutError naming `what` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = found()
            except (StaleElementReferenceException, WebDriverException):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not seen after {timeout:.0f}s")
            time.sleep(every)

    def wait_text(self, fragment: str, timeout: float = 30.0) -> None:
        self.wait(f"text {fragment!r}", lambda: fragment in self.text(), timeout)

    def visible(self, xpath: str, within: WebElement | None = None) -> list[WebElement]:
        root = within or self.driver
        return [element for element in root.find_elements(By.XPATH, xpath) if element.is_displayed()]

    def find_clickable(self, label: str, within: WebElement | None = None) -> WebElement | None:
        """A visible button, link, tab or menu item whose text is `label` (menu items may show their
        keyboard shortcut after it)."""
        xpath = (
            ".//*[self::button or self::a or @role='button' or @role='menuitem' or @role='tab']"
            f"[normalize-space()={_literal(label)}"
            f" or (@role='menuitem' and starts-with(normalize-space(), {_literal(label + ' ')}))]"
        )
        found = self.visible(xpath, within)
        return found[0] if found else None

    def click(self, label: str, within: WebElement | None = None, timeout: float = 30.0) -> None:
        element = self.wait(f"a clickable {label!r}", lambda: self.find_clickable(label, within), timeout)
        element.click()

    def click_icon(self, icon: str, timeout: float = 30.0) -> None:
        """Click the button that shows the icon named `icon` (the UI's icons carry it as aria-label)."""
        xpath = f"//button[.//*[@aria-label={_literal(icon)}]]"
        self.wait(f"the {icon!r} button", lambda: (self.visible(xpath) or [None])[0], timeout).click()

    def context_click(self, element: WebElement, x: int = 0, y: int = 0) -> None:
        """Right-click `element` at (x, y) from its top-left corner."""
        ActionChains(self.driver).move_to_element_with_offset(
            element, *_from_center(element, x, y)
        ).context_click().perform()

    def double_click(self, element: WebElement, x: int = 0, y: int = 0) -> None:
        """Double-click `element` at (x, y) from its top-left corner."""
        ActionChains(self.driver).move_to_element_with_offset(
            element, *_from_center(element, x, y)
        ).double_click().perform()

    def dialog(self, timeout: float = 30.0) -> WebElement:
        return self.wait("a dialog", lambda: (self.visible("//*[@role='dialog']") or [None])[-1], timeout)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))


def _from_center(element: WebElement, x: int, y: int) -> tuple[int, int]:
    """Selenium offsets count from the element's centre; the tasks name spots from its top-left corner."""
    size = element.size
    return x - size["width"] // 2, y - size["height"] // 2


def _literal(text: str) -> str:
    """`text` as an XPath string literal (XPath 1.0 has no escape character)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in parts) + ")"
