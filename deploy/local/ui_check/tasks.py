"""The five things a user does in the Dagster UI, each done by clicking and checked by reading the pages.

Each task returns one line saying what it saw and leaves the browser on the page its screenshot shows; it
raises `TaskFailed` with what it could not do. Pages are opened by URL only where a user would use a
bookmark (a page's address); actions (expanding, launching, toggling, opening) are clicks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import boto3
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from deploy.local.sources.vendor_files import VENDOR_CSV_DEFECTS, vendor_csv
from deploy.local.ui_check.browser import Page

BACKFILL_ASSET = "bronze_orders"
# The local sources changed in 2026-11-01 .. 2026-11-20 (deploy/local/sources): the last seven days of data.
BACKFILL_LAST_DAY = date(2026, 11, 20)
BACKFILL_DAYS = 7
UPLOADS_SENSOR = "product_uploads_sensor"
UPLOAD_VENDOR = "VEND001"
VALIDATION_ASSET = "validated_products"
REJECTED_ROWS_TABLE = "rejected_rows"  # MetadataValue.table: row_number, line, sku, field, value, reason
REJECTION_FALLBACK = "top_rejection_reasons"  # the markdown summary the asset reports today
CHECK_ASSET = BACKFILL_ASSET
CHECK_NAME = "row_count_matches_extracted"


class TaskFailed(Exception):
    """A task could not be done through the UI; the message says what was missing."""


@dataclass
class CheckState:
    """What the tasks hand on: the upload the sensor found (for d)."""

    upload_key: str = ""
    upload_partition: str = ""
    notes: dict[str, str] = field(default_factory=dict)


def dismiss_welcome(page: Page) -> None:
    """A fresh browser profile first sees the community sign-up dialog; skip it like a user would."""
    try:
        page.wait("the welcome dialog", lambda: page.find_clickable("Skip"), timeout=5).click()
    except TimeoutError:
        pass  # already dismissed in this browser


def task_a_lineage(page: Page, state: CheckState, expected_assets: list[str], groups: list[str]) -> str:
    """(a) the global asset graph with every group expanded: every pipeline's assets in one picture."""
    page.open("/asset-groups")
    page.wait("the global asset lineage page", lambda: page.visible("//*[@aria-label='zoom_out']"), 60)
    time.sleep(1)
    dismiss_welcome(page)
    canvas = _graph_canvas(page)
    _background_menu(page, canvas, "Expand all groups")
    # The nine bronze assets side by side fit the window far better than stacked (the default, left to right).
    _background_menu(page, canvas, "Change graph to vertical orientation")

    def shown() -> list[str] | None:
        """Every asset's node is on screen (the graph renders only the nodes inside the viewport)."""
        nodes = page.driver.find_elements(By.CSS_SELECTOR, "[class*='AssetNode_assetNodeContainer']")
        texts = [(node.get_attribute("textContent") or "").strip() for node in nodes if node.is_displayed()]
        return texts if all(any(_names(text, name) for text in texts) for name in expected_assets) else None

    def fitted() -> list[str] | None:
        """Double-click the background, which fits the graph into the window; again if the layout moved."""
        time.sleep(2)
        page.double_click(canvas, *_background_spot(canvas))
        time.sleep(2)
        return shown()

    try:
        page.wait("every asset node on screen", fitted, 60, every=1)
    except TimeoutError as exc:
        raise TaskFailed(f"the global graph does not show every asset: {exc}") from exc
    headers = page.visible("//*[contains(@class,'ExpandedGroupNode_groupNodeHeaderBox')]")
    expanded = sorted({header.text.strip() for header in headers})
    missing = sorted(set(groups) - set(expanded))
    if missing:
        raise TaskFailed(f"groups not expanded in the global graph: {', '.join(missing)}")
    return f"{len(expected_assets)} assets in {len(groups)} expanded groups ({', '.join(expanded)})"


def _names(shown: str, name: str) -> bool:
    """Whether a node's text shows `name`: at low zoom a long name is cut in the middle with '…'."""
    head, cut, tail = shown.partition("…")
    return shown == name or bool(cut) and name.startswith(head) and name.endswith(tail)


def _background_menu(page: Page, canvas: WebElement, item: str) -> None:
    """Right-click an empty spot of the graph and pick `item`; right-click again when the menu did not
    open (the page was still settling)."""

    def opened() -> WebElement | None:
        page.context_click(canvas, *_background_spot(canvas))
        return page.wait(f"menu item {item!r}", lambda: page.find_clickable(item), timeout=5)

    try:
        page.wait(
            f"the graph's background menu with {item!r}", _suppress_timeout(opened), timeout=40, every=1
        ).click()
    except TimeoutError as exc:
        raise TaskFailed(str(exc)) from exc


def _background_spot(canvas: WebElement) -> tuple[int, int]:
    """A point (from the viewport's top-left) on no node or group, in the upper part of the viewport so the
    menu opening below it stays inside the window, and below the toolbar that covers the viewport's top."""
    origin = canvas.location
    boxes = [
        shape.rect
        for shape in canvas.find_elements(By.XPATH, ".//*[local-name()='foreignObject']")
        if shape.is_displayed()
    ]

    def free(x: int, y: int) -> bool:
        px, py = origin["x"] + x, origin["y"] + y
        return not any(
            b["x"] - 10 <= px <= b["x"] + b["width"] + 10 and b["y"] - 10 <= py <= b["y"] + b["height"] + 10
            for b in boxes
        )

    candidates = [(x, y) for y in (100, 200, 300, 400) for x in (30, 150, canvas.size["width"] - 300)]
    return next((spot for spot in candidates if free(*spot)), candidates[0])


def _suppress_timeout(find: Callable[[], WebElement | None]) -> Callable[[], WebElement | None]:
    """`find`, answering None instead of raising when its own wait ran out (the caller waits again)."""

    def attempt() -> WebElement | None:
        try:
            return find()
        except TimeoutError:
            return None

    return attempt


def _graph_canvas(page: Page) -> WebElement:
    """The graph's viewport: an empty spot near its top-left corner is background, not a node."""
    viewport = "//*[@data-svg-viewport='1']"
    return page.wait("the graph viewport", lambda: page.visible(viewport))[0]


def task_b_backfill(page: Page, state: CheckState, timeout: float) -> str:
    """(b) a 7-day backfill of one bronze asset from its partitions page, followed to success."""
    first = BACKFILL_LAST_DAY - timedelta(days=BACKFILL_DAYS - 1)
    selection = f"[{first.isoformat()}...{BACKFILL_LAST_DAY.isoformat()}]"
    page.open(f"/assets/{BACKFILL_ASSET}?view=partitions")
    dismiss_welcome(page)
    page.click("Materialize…", timeout=60)
    dialog = page.dialog()
    box = page.wait("the partition selection box", lambda: page.visible(".//input[@type='text']", dialog))[0]
    box.click()
    box.send_keys(selection)
    box.send_keys(Keys.TAB)
    page.wait(f"'{BACKFILL_DAYS} partitions' selected", lambda: f"{BACKFILL_DAYS} partitions" in dialog.text)
    page.click("Launch backfill", within=dialog)
    page.click("View", timeout=30)  # the toast "Created backfill <id>" links to the backfill's page
    page.wait("the backfill page", lambda: "/runs/b/" in page.driver.current_url)
    backfill_id = page.driver.current_url.rstrip("/").rsplit("/", 1)[-1]
    page.wait_text("Partition selection", 60)

    def finished() -> str | None:
        status = _field(page.text(), "Status")
        return status if status and status not in ("In progress", "Requested", "Canceling") else None

    try:
        status = page.wait(f"backfill {backfill_id} to finish", finished, timeout, every=5)
    except TimeoutError as exc:
        raise TaskFailed(f"backfill {backfill_id} of {BACKFILL_ASSET} {selection}: {exc}") from exc
    time.sleep(2)  # the counts refresh with the status
    counts = _backfill_counts(page.text())
    if status not in ("Completed", "Succeeded") or counts.get("failed"):
        raise TaskFailed(
            f"backfill {backfill_id} of {BACKFILL_ASSET} {selection} ended {status!r} ({counts})"
        )
    return f"backfill {backfill_id}: {BACKFILL_ASSET} {selection} {status}, {counts}"


def _field(text: str, label: str) -> str | None:
    """The value shown on the line after `label` on a details page."""
    match = re.search(rf"^{re.escape(label)}\n(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def _backfill_counts(text: str) -> dict[str, int]:
    """The asset row of the backfill table: targeted, in progress, succeeded, failed."""
    match = re.search(rf"{BACKFILL_ASSET}\n[^\n]*completed\n(\d+)\n(\d+)\n(\d+)\n(\d+)", text)
    if not match:
        return {}
    return dict(
        zip(("targeted", "in_progress", "succeeded", "failed"), map(int, match.groups()), strict=True)
    )


def task_c_sensor(page: Page, state: CheckState, uploads_bucket: str, timeout: float) -> str:
    """(c) turn the upload sensor on, drop a vendor CSV into S3, find its run and key on the sensor page."""
    page.open("/automation")
    dismiss_welcome(page)
    link = f"//a[contains(@href, '/sensors/{UPLOADS_SENSOR}')]"
    page.wait(f"{UPLOADS_SENSOR} on the automation page", lambda: page.visible(link), 60)[0].click()
    page.wait_text("Frequency", 60)
    switch = page.wait("the sensor's Running switch", lambda: page.driver.find_elements(By.XPATH, _SWITCH))[0]
    toggle = switch.find_element(By.XPATH, "ancestor::label[1]")
    if switch.is_selected():  # left on by an earlier check: turn it off first, so this one turns it on
        toggle.click()
        page.wait("the sensor to stop", lambda: not switch.is_selected())
    toggle.click()
    page.wait("the sensor to run", lambda: switch.is_selected())

    # The user's action outside Dagster: a vendor drops a CSV (first row rejected: negative price).
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    state.upload_key = f"uploads/{UPLOAD_VENDOR}/ui-check-{stamp}.csv"
    body = vendor_csv(UPLOAD_VENDOR, 5, bad_rows=1, seed=int(time.time()))
    boto3.client("s3").put_object(
        Bucket=uploads_bucket, Key=state.upload_key, Body=body, ContentType="text/csv"
    )

    # The sensor's own Runs tab (a button), not the navigation's Runs link.
    page.wait("the sensor's Runs tab", lambda: page.visible("//button[normalize-space()='Runs']"))[0].click()

    def run_row() -> WebElement | None:
        rows = page.visible(f"{_RUN_ROW}[contains(normalize-space(), {_xpath_text(state.upload_key)})]")
        return rows[0] if rows else None

    try:
        row = page.wait(f"a run for s3 key {state.upload_key} on the sensor's Runs tab", run_row, timeout, 3)
        row = page.wait("the run to succeed", lambda: _row_if(run_row(), "Success"), timeout, 3)
    except TimeoutError as exc:
        raise TaskFailed(f"{UPLOADS_SENSOR}: {exc}") from exc
    found = re.search(r"partition: (\S+)", row.text)
    if not found:
        raise TaskFailed(f"the run row for {state.upload_key} shows no partition: {row.text!r}")
    state.upload_partition = found.group(1)
    run_id = row.text.split()[0]
    return f"run {run_id} (Success) for s3 key {state.upload_key}, partition {state.upload_partition}"


_SWITCH = "//*[normalize-space()='Running']/following::input[@type='checkbox'][1]"
# One run of the runs table (a virtualized grid of divs, one per run; never the sensor's cursor row).
_RUN_ROW = "//*[contains(@class, 'RunsFeedRow_rowGrid')]"


def _row_if(row: WebElement | None, status: str) -> WebElement | None:
    if row is not None and status in row.text:
        return row
    if row is not None and "Failure" in row.text:
        raise TaskFailed(f"the sensor's run failed: {row.text!r}")
    return None


def _xpath_text(text: str) -> str:
    return f"'{text}'" if "'" not in text else f'"{text}"'


def task_d_rejection(page: Page, state: CheckState) -> str:
    """(d) why a vendor row was rejected, from the validation asset's page in at most three clicks:
    Partitions tab, the upload's partition, then the `rejected_rows` table (or, until that metadata
    exists, the `top_rejection_reasons` summary shown with the partition)."""
    if not state.upload_partition:
        raise TaskFailed("no upload partition: task (c) did not find the sensor's run")
    page.open(f"/assets/{VALIDATION_ASSET}")
    dismiss_welcome(page)
    clicks = 0
    page.click("Partitions", timeout=60)
    clicks += 1
    search = page.wait(
        "the partition filter", lambda: page.visible("//input[@placeholder='Filter by name…']")
    )
    search[0].send_keys(state.upload_partition)
    entry = f"//*[normalize-space(text())={_xpath_text(state.upload_partition)}]"

    def selected() -> bool:
        """Click the partition in the list (again, when the list re-rendered under the first click)."""
        page.wait(f"partition {state.upload_partition} in the list", lambda: page.visible(entry), 60)[
            0
        ].click()
        time.sleep(2)
        return "valid_records" in page.text()

    page.wait(f"the metadata of partition {state.upload_partition}", selected, 60, every=1)
    clicks += 1
    text = page.text()
    expected = VENDOR_CSV_DEFECTS["negative_price"][0]  # the row vendor_csv breaks first: field `price`
    if REJECTED_ROWS_TABLE in text:
        row = page.visible(f"//tr[.//*[normalize-space()={_xpath_text(REJECTED_ROWS_TABLE)}]]")
        button = page.find_clickable("Show table", row[0] if row else None) or page.find_clickable(
            "[Show table]"
        )
        if button is not None:
            button.click()
            clicks += 1
            page.dialog()
            time.sleep(1)
        source, shown = REJECTED_ROWS_TABLE, page.text()
    elif REJECTION_FALLBACK in text:
        source = f"{REJECTION_FALLBACK} (no {REJECTED_ROWS_TABLE} table yet)"
        shown = text.split(REJECTION_FALLBACK, 1)[1]
    else:
        raise TaskFailed(
            f"partition {state.upload_partition} shows neither {REJECTED_ROWS_TABLE} nor {REJECTION_FALLBACK}"
        )
    reasons = [line for line in shown.splitlines() if expected in line]
    if not reasons:
        raise TaskFailed(f"{source} of {state.upload_partition} names no rejected {expected!r} field")
    return f"{clicks} clicks from the asset page; {source}: {reasons[0].strip()!r}"


def task_e_check(page: Page, state: CheckState) -> str:
    """(e) one evaluation of a check on the Checks tab, opened to read its evidence (metadata)."""
    page.open(f"/assets/{CHECK_ASSET}?view=checks")
    dismiss_welcome(page)
    check = f"//*[normalize-space(text())={_xpath_text(CHECK_NAME)}]"
    page.wait(f"check {CHECK_NAME}", lambda: page.visible(check), 60)[0].click()
    page.click("Execution history")
    page.wait("an evaluated execution", lambda: page.visible("//tbody/tr[.//button]"), 60)
    header = [cell.text.strip() for cell in page.visible("//thead//th")]
    rows = page.visible("//tbody/tr[.//button]")
    chosen, partition = rows[0], "-"
    if "Partition" in header:  # checks evaluated per partition: prefer one of the backfilled days
        column = header.index("Partition")
        first = BACKFILL_LAST_DAY - timedelta(days=BACKFILL_DAYS - 1)
        days = {(first + timedelta(days=offset)).isoformat() for offset in range(BACKFILL_DAYS)}
        for row in rows:
            cells = row.find_elements(By.XPATH, "./td")
            if len(cells) > column and cells[column].text.strip() in days:
                chosen, partition = row, cells[column].text.strip()
                break
    result = chosen.find_elements(By.XPATH, "./td")[0].text.strip()
    chosen.find_elements(By.XPATH, ".//button")[-1].click()
    dialog = page.dialog()
    page.wait("the evaluation's metadata", lambda: "rows_extracted" in dialog.text, 30)
    evidence = " ".join(line for line in dialog.text.splitlines()[1:] if line != "Close")
    where = (
        f"partition {partition}" if partition != "-" else "no Partition column (check not partitioned yet)"
    )
    return f"{CHECK_NAME} {result}, {where}; metadata: {evidence}"
