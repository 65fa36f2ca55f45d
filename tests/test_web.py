"""The set-up page in a real browser (Debian's chromium and chromedriver) against a running pipeline.

The pipeline runs for real (MediaPipe on a camera frame from the shipped GMDCSA24 clip, the classifier,
the fall rule) on a thread; only the camera and the GPIO pins are fakes (the hardware boundary). The page
is served over real HTTP on 127.0.0.1 and saves into a real config file; push channels are real webhook
receivers on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.alerts.notify import Notifier, skeleton_picture
from edge.commands.demo import CLIP
from edge.config import ConfigError, WebConfig, load_config
from edge.events import Event, EventLog
from edge.output.base import NullSink
from edge.pipeline import Pipeline
from edge.sources.base import Frame, FrameSource
from edge.web.auth import LoginLimiter, hash_password
from edge.web.config_file import save_keys, set_keys
from edge.web.history import events_page
from edge.web.server import WebPage, json_answer
from tests.support import MODEL, REPO, free_port, model_features, needs_model, replay_config, require_tool, skip_or_fail

PASSWORD = "correct horse battery"
CONFIG = """# the owner's own notes stay as they were
room = "mother's room"

[events]
# zones drawn on the page land here
bed_zones = []
confirm_s = 10.0
{extra}
[web]
password_hash = "{hash}"
"""
# Secrets a config may hold: none of them may ever reach a page or a JSON answer.
TOKEN_1, TOKEN_2, MQTT_SECRET = "tier1-token-4f9a2c", "tier2-token-b7e1d0", "mqtt-password-9c3e"
CHANNELS = """
[notify]
urls = ["json://127.0.0.1:{port}/{t1}"]
outbox = "{outbox}"

[[notify.tiers]]
after_min = 5
urls = ["json://127.0.0.1:{port}/{t2}"]

[mqtt]
password = "{mqtt}"
"""
Service = tuple[WebPage, Pipeline, Path]


class StillCamera(FrameSource):
    """The hardware boundary: a camera that shows one real picture of the room, 15 times a second."""

    fps = 15.0

    def __init__(self, image: np.ndarray) -> None:
        self.image, self.index = image, 0
        self.stopped = threading.Event()

    def read(self) -> Frame | None:
        time.sleep(1 / self.fps)
        self.index += 1
        return Frame(self.image, self.index / self.fps, self.index)

    @property
    def finished(self) -> bool:
        return self.stopped.is_set()

    def close(self) -> None:
        self.stopped.set()


def first_frame(clip: Path) -> np.ndarray:
    import cv2

    capture = cv2.VideoCapture(str(clip))
    ok, image = capture.read()
    capture.release()
    assert ok, clip
    return image


@pytest.fixture
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """A running pipeline and its page, as `fallwatch run --config FILE` starts them; stopped after.

    Indirect parameters: {"show_camera": True} lets the page show the camera; {"channels": True}
    configures two tiers of push channels (webhook receivers) and an MQTT password; {"events": True}
    keeps an events log.
    """
    options = getattr(request, "param", {})
    extra = ""
    if options.get("channels"):
        _, port = request.getfixturevalue("receiver")
        outbox = tmp_path / "outbox.sqlite"
        extra = CHANNELS.format(port=port, t1=TOKEN_1, t2=TOKEN_2, outbox=outbox, mqtt=MQTT_SECRET)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra=extra), encoding="utf-8")
    config.chmod(0o600)
    cfg = model_features(load_config(config, [f'classifier.model="{MODEL}"', 'log.state=""']))
    notifier = Notifier.from_config(cfg) if cfg.notify.urls else None
    hub = AlertHub(LocalAlarm(cfg.gpio, SimulatedPins()), notifier)
    hub.start()
    pipeline = Pipeline(
        cfg,
        source=StillCamera(first_frame(CLIP)),
        sink=NullSink(),
        alerts=hub,
        events_path=str(tmp_path / "events.jsonl") if options.get("events") else "",
    )
    runner = threading.Thread(target=pipeline.run, name="pipeline", daemon=True)
    runner.start()
    web = WebConfig(port=0, password_hash=cfg.web.password_hash, show_camera=options.get("show_camera", False))
    page = WebPage(web, config, pipeline, cfg.room)
    page.start()
    try:
        yield page, pipeline, config
    finally:
        page.close()
        pipeline.request_stop()
        runner.join(timeout=30)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless chromium through chromedriver (Debian's packages), a fresh profile per test."""
    chromium = require_tool("chromium", "chromium")
    driver_path = require_tool("chromedriver", "chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip_or_fail("selenium not installed (pip install 'fallwatch[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,1150"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(check: Any, timeout: float = 20.0) -> Any:
    """Poll check() until it returns something truthy; fail with what it last returned. An element the
    page re-rendered between finding and reading it counts as "not yet"."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            value = check()
        except StaleElementReferenceException as exc:
            value = exc
        if value and not isinstance(value, Exception):
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out; last value {value!r}")


def fetch(driver: Any, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> list[Any]:
    """The browser itself fetches `path` (its cookies go with it): [status, body text]."""
    return driver.execute_async_script(
        """const [path, method, headers, done] = arguments;
        fetch(path, {method, headers, body: method === 'POST' ? '{"zones": []}' : undefined})
          .then(async (r) => done([r.status, await r.text()]));""",
        path,
        method,
        headers or {},
    )


def log_in_browser(browser: Any, base: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base + "/login")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.current_url == base + "/")


def screenshot(browser: Any, name: str, fallback: Path) -> None:
    """Save the browser's page as `name` in $FALLWATCH_SCREENSHOTS (docs/ for the README), else `fallback`."""
    folder = Path(os.environ.get("FALLWATCH_SCREENSHOTS", fallback))
    folder.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(folder / name))


@needs_model
def test_log_in_draw_a_zone_save_it_and_the_running_detector_uses_it(
    service: Service, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    page, pipeline, config = service
    base = f"http://127.0.0.1:{page.port}"
    browser.get(base + "/")
    assert browser.current_url == base + "/login"  # no session: the page sends you to log in
    browser.find_element(By.ID, "password").send_keys("wrong password")
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: "Wrong password." in browser.page_source)  # the answer is a new page: wait for it
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.current_url == base + "/")

    # the status: the pipeline's state, frame rate and the person MediaPipe finds in the picture
    wait_for(lambda: browser.find_element(By.ID, "people").text == "1")
    assert browser.find_element(By.ID, "state").text == "ok"
    wait_for(lambda: float(browser.find_element(By.ID, "fps").text) > 5)  # a rate needs a few frames
    # the live view: that person's skeleton on a blank canvas, and no camera picture anywhere
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#skeletons line.bone")) >= 10)
    assert not browser.find_elements(By.TAG_NAME, "img")
    status, body = fetch(browser, "/snapshot.jpg")
    assert status == 403 and "web.show_camera = false" in body and "\n" not in body
    view = browser.find_element(By.ID, "blank")
    assert abs(view.size["width"] / view.size["height"] - 640 / 480) < 0.02  # the camera's proportions

    # a zone: four clicks on the live view (offsets from its centre), close it, save it
    width, height = view.size["width"], view.size["height"]
    corners = [(-0.3, 0.1), (0.3, 0.1), (0.3, 0.45), (-0.3, 0.45)]  # the floor in front of the door
    for dx, dy in corners:
        ActionChains(browser).move_to_element_with_offset(view, int(dx * width), int(dy * height)).click().perform()
    browser.find_element(By.ID, "close").click()
    browser.find_element(By.ID, "save").click()
    wait_for(lambda: browser.find_element(By.ID, "saved").text == "Saved 1 zone(s).")
    screenshot(browser, "setup-page.png", tmp_path)

    # on disk: the polygon where it was clicked, the owner's comments kept, still mode 0600
    saved = load_config(config).events.bed_zones
    expected = [[0.5 + dx, 0.5 + dy] for dx, dy in corners]
    assert len(saved) == 1 and np.allclose(saved[0], expected, atol=0.01), saved
    assert "# the owner's own notes stay as they were" in config.read_text(encoding="utf-8")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    # the running detector (no restart) uses it from its next frame on
    assert pipeline.detector is not None
    wait_for(lambda: pipeline.detector.events.cfg.bed_zones == saved)
    assert runner_alive(pipeline)


@needs_model
@pytest.mark.parametrize("service", [{"show_camera": True}], indirect=True)
def test_with_show_camera_the_live_view_is_the_camera_picture_with_the_skeletons(
    service: Service, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    page, _, _ = service
    log_in_browser(browser, f"http://127.0.0.1:{page.port}")
    snap = browser.find_element(By.ID, "snap")
    wait_for(lambda: browser.execute_script("return arguments[0].naturalWidth", snap) == 640)
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#skeletons line.bone")) >= 10)
    assert not browser.find_elements(By.ID, "blank")
    assert fetch(browser, "/snapshot.jpg")[0] == 200


def runner_alive(pipeline: Pipeline) -> bool:
    """The pipeline is still processing frames after the save (its live frame keeps moving on)."""
    assert pipeline.live is not None
    before = pipeline.live.video_time
    return bool(wait_for(lambda: pipeline.live is not None and pipeline.live.video_time > before))


@needs_model
def test_without_the_password_or_the_csrf_token_everything_is_refused(service: Service, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    page, _, config = service
    base = f"http://127.0.0.1:{page.port}"
    before = config.read_bytes()
    browser.get(base + "/login")
    for path in ("/status.json", "/snapshot.jpg", "/app.js"):  # no session: no data
        assert fetch(browser, path)[0] == 401, path
    assert fetch(browser, "/zones", "POST", {"X-CSRF-Token": "guess"})[0] == 403
    # logged in, but a change without the page's CSRF token (a forged request) is refused
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.current_url == base + "/")
    assert fetch(browser, "/zones", "POST")[0] == 403
    assert fetch(browser, "/zones", "POST", {"X-CSRF-Token": "guess"})[0] == 403
    assert config.read_bytes() == before
    csrf = browser.find_element(By.CSS_SELECTOR, "meta[name=csrf]").get_attribute("content")
    assert fetch(browser, "/zones", "POST", {"X-CSRF-Token": csrf})[0] == 200  # the page's own token works
    # logged out: the same token no longer opens anything
    assert fetch(browser, "/logout", "POST", {"X-CSRF-Token": csrf})[0] == 200
    assert fetch(browser, "/zones", "POST", {"X-CSRF-Token": csrf})[0] == 403
    assert fetch(browser, "/status.json")[0] == 401


def test_no_page_without_a_password_hash() -> None:
    """The config refuses web.port without a password (so never beyond loopback unprotected)."""
    with pytest.raises(ConfigError, match=r"web\.password_hash"):
        load_config(None, ["web.port=8781", 'web.host="0.0.0.0"'])


@needs_model
def test_plain_http_without_a_session_is_refused(service: Service) -> None:
    """Outside a browser too: a page redirects to /login, data is 401, a change 403."""
    page, _, _ = service
    base = f"http://127.0.0.1:{page.port}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for path, method, status in (("/", "GET", 303), ("/status.json", "GET", 401), ("/zones", "POST", 403)):
        data = json.dumps({"zones": []}).encode() if method == "POST" else None
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(urllib.request.Request(base + path, data=data, method=method), timeout=5)
        assert refused.value.code == status, path


def log_in(base: str, password: str = PASSWORD) -> tuple[urllib.request.OpenerDirector, str]:
    """A logged-in HTTP client (cookies kept) and the CSRF token its page carries."""
    import http.cookiejar
    import urllib.parse

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"password": password, "token": login_token(opener, base)}).encode()
    with opener.open(base + "/login", data=form, timeout=10) as answer:  # 303 -> the page
        match = re.search(r'<meta name="csrf" content="([^"]+)">', answer.read().decode())
    assert match, "no CSRF token in the page"
    return opener, match.group(1)


def login_token(opener: urllib.request.OpenerDirector, base: str) -> str:
    """GET the login form (its cookie goes into the opener's jar); the token the form carries."""
    with opener.open(base + "/login", timeout=10) as answer:
        match = re.search(r'name="token" value="([^"]+)"', answer.read().decode())
    assert match, "no token in the login form"
    return match.group(1)


def call(
    opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, Any]:
    """(status, body, headers) of one request; an HTTP error status is an answer too, not an exception."""
    request = urllib.request.Request(
        url, data=data, headers=headers or {}, method="POST" if data is not None else "GET"
    )
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


@needs_model
@pytest.mark.parametrize("zone_everywhere", [False, True])
def test_a_zone_saved_through_the_page_silences_the_fall_in_it_without_a_restart(
    tmp_path: Path, zone_everywhere: bool
) -> None:
    """The shipped fall (keypoint trace) raises fall_suspected; with a zone over the whole picture,
    saved through the page after the detector started, the same fall does not."""
    trace = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra=""), encoding="utf-8")
    config.chmod(0o600)
    cfg = replay_config(trace)
    pipeline = Pipeline(cfg, sink=NullSink(), alerts=AlertHub(LocalAlarm(cfg.gpio, SimulatedPins())), events_path="")
    page = WebPage(WebConfig(port=0, password_hash=hash_password(PASSWORD)), config, pipeline)
    page.start()
    pipeline.start()
    try:
        if zone_everywhere:
            opener, csrf = log_in(f"http://127.0.0.1:{page.port}")
            everywhere = {"zones": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
            request = urllib.request.Request(
                f"http://127.0.0.1:{page.port}/zones",
                data=json.dumps(everywhere).encode(),
                headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
            )
            with opener.open(request, timeout=10) as answer:
                assert json.load(answer) == {"zones": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]}
        while pipeline.step():
            pass
    finally:
        pipeline.stop()
        page.close()
    suspected = [e for e in pipeline.events if e.event == "fall_suspected"]
    assert bool(suspected) != zone_everywhere, [e.event for e in pipeline.events]


ZONE = [[[0.1, 0.2], [0.3, 0.2], [0.3, 0.4]]]


@pytest.mark.parametrize(
    "text",
    [
        "[events]\nbed_zones = []\nconfirm_s = 3.0\n",  # replaced in place
        "[events]\nbed_zones = [\n  [[0, 0], [1, 0], [1, 1]],  # the old bed\n]\nconfirm_s = 3.0\n",  # several lines
        "[events]\nconfirm_s = 3.0\n",  # added to the table
        'room = "x"\n',  # the table added
    ],
)
def test_set_keys_changes_only_that_key(text: str) -> None:
    from edge.config import tomllib

    data = tomllib.loads(set_keys(text, {"events.bed_zones": ZONE}))
    assert data["events"]["bed_zones"] == ZONE
    assert {k: v for k, v in data["events"].items() if k != "bed_zones"} == {
        k: v for k, v in tomllib.loads(text).get("events", {}).items() if k != "bed_zones"
    }


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        ([[[0.1, 0.2], [0.3, 0.2]]], "events.bed_zones[0]"),  # two points are no polygon
        ([[[0.1, 0.2], [1.3, 0.2], [0.3, 0.4]]], "events.bed_zones[0]"),  # outside the picture
        ("everywhere", "events.bed_zones"),
    ],
)
def test_bad_zones_are_refused_naming_the_key_and_the_file_is_unchanged(
    tmp_path: Path, zones: Any, message: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[events]\nbed_zones = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        save_keys(config, {"events.bed_zones": zones})
    assert str(config) in str(refused.value) and "\n" not in str(refused.value)
    assert config.read_text(encoding="utf-8") == "[events]\nbed_zones = []\n"


def test_web_password_prints_a_hash_the_page_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from edge.cli import main as cli_main
    from edge.web.auth import verify_password

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli_main(["web-password"]) == 0
    line = capsys.readouterr().out.strip()
    stored = line.removeprefix('password_hash = "').removesuffix('"')
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "!", stored)
    assert PASSWORD not in line
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli_main(["web-password"]) == 2


@needs_model
def test_run_serves_the_page_while_it_runs_and_needs_a_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge.cli import main as cli_main

    port = free_port()  # a free port for the page
    trace = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra="") + f"port = {port}\n", encoding="utf-8")
    config.chmod(0o600)
    replay = ["--source", str(trace), "--events", str(tmp_path / "e.jsonl"), "--set", 'pose.type="recorded"']
    replay += ["--set", f'pose.recorded_path="{trace}"', "--set", f'classifier.model="{MODEL}"']
    replay += ["--set", 'log.state=""', "--set", f'notify.outbox="{tmp_path / "outbox.sqlite"}"']
    assert cli_main(["run", "--config", str(config), *replay]) == 0
    assert f"set-up page: http://127.0.0.1:{port}/" in capsys.readouterr().out
    assert cli_main(["run", *replay, "--set", f"web.port={port}", "--set", 'web.password_hash="scrypt$x"']) == 2
    assert "web.port needs --config FILE" in capsys.readouterr().err


@needs_model
def test_a_bad_content_length_is_refused_without_reading(service: Service) -> None:
    import http.client

    page, _, _ = service
    for length in ("-1", "1000000", "many"):
        connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=5)
        connection.putrequest("POST", "/zones")
        connection.putheader("Content-Length", length)
        connection.endheaders()
        assert connection.getresponse().status == 413, length
        connection.close()


# -- events, their skeleton pictures and the history -------------------------------------------------
FALL_TRACE = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"


def replay_service(tmp_path: Path, events_log: Path, confirm_s: float = 1.0) -> tuple[WebPage, Pipeline]:
    """The shipped fall (keypoint trace) through the real pipeline, stepped by the test, with its page."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra=""), encoding="utf-8")
    cfg = replay_config(FALL_TRACE, (f"events.confirm_s={confirm_s}",))
    hub = AlertHub(LocalAlarm(cfg.gpio, SimulatedPins()))
    pipeline = Pipeline(cfg, sink=NullSink(), alerts=hub, events_path=str(events_log))
    page = WebPage(WebConfig(port=0, password_hash=hash_password(PASSWORD)), config, pipeline, "hall")
    page.start()
    pipeline.start()
    return page, pipeline


def old_events(log: Path, count: int) -> list[Event]:
    """`count` events already in the log from before this run, and a line torn by a power cut."""
    events = [
        Event("heartbeat", float(i), wall_time=f"2026-11-01T00:{i // 60:02d}:{i % 60:02d}+00:00") for i in range(count)
    ]
    writer = EventLog(str(log))
    for event in events:
        writer.write(event)
    writer.close()
    with log.open("a", encoding="utf-8") as file:
        file.write('{"event": "fall_al')  # torn: the next run appends after it on a new line
    return events


@needs_model
def test_latest_events_have_their_skeleton_pictures_and_the_history_pages_the_log(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    log = tmp_path / "events.jsonl"
    before = old_events(log, 70)
    page, pipeline = replay_service(tmp_path, log)
    base = f"http://127.0.0.1:{page.port}"
    try:
        while pipeline.step():
            pass
        opener, _ = log_in(base)
        status = json.loads(call(opener, base + "/status.json")[1])
        kinds = [e["event"] for e in status["events"]]
        assert kinds == ["fall_alert", "fall_suspected"], kinds  # newest first
        for shown in status["events"]:
            assert shown["picture"], shown
            code, png, headers = call(opener, f"{base}/events/{shown['id']}.png")
            keypoints, aspect = pipeline.event_skeletons[shown["id"]]
            assert code == 200 and headers["Content-Type"] == "image/png"
            assert png == skeleton_picture(keypoints, aspect)  # the very picture an alarm's push attaches
        assert call(opener, base + "/events/0123456789abcdef.png")[0] == 404

        # the history: the log, newest first (this run's events, then the old ones), 50 a page; the
        # old heartbeats only when routine events are asked for
        pages = lambda query: [json.loads(call(opener, f"{base}/history.json?{query}page={n}")[1]) for n in (0, 1)]  # noqa: E731
        first, second = pages("routine=1&")
        logged = [e.id for e in before] + [e.id for e in pipeline.events]  # in the order written
        assert [e["id"] for e in first["events"] + second["events"]] == logged[::-1]
        assert len(first["events"]) == 50 and first["older"] and not second["older"]
        alarms = [e.id for e in pipeline.events if e.event != "heartbeat"]
        first, second = pages("")
        assert [e["id"] for e in first["events"]] == alarms[::-1] and not first["older"] and not second["events"]
        code, body, _ = call(opener, base + "/history.json?page=-1")
        assert code == 400 and "page = '-1'" in json.loads(body)["error"]

        # in the browser: the pictures load, the history shows the first page and pages on
        log_in_browser(browser, base)
        wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#events img")) == 2)
        images = browser.find_elements(By.CSS_SELECTOR, "#events img")
        wait_for(lambda: all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images))
        rows = lambda: [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#history tr")]  # noqa: E731
        wait_for(lambda: len(rows()) == len(alarms) and "fall_alert" in rows()[0])  # no heartbeat by default
        browser.execute_script("document.getElementById('events').previousElementSibling.scrollIntoView()")
        screenshot(browser, "setup-page-events.png", tmp_path)
        browser.find_element(By.ID, "routine").click()  # show routine events: the heartbeats too
        wait_for(lambda: len(rows()) == 50 and "heartbeat" in rows()[-1])
        assert "fall_alert" in rows()[0]
        browser.find_element(By.ID, "older").click()
        wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#history tr")) == len(logged) - 50)
    finally:
        pipeline.stop()
        page.close()


def test_history_reads_the_log_backwards_across_blocks_and_skips_torn_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "events.jsonl"
    events = old_events(log, 1500)  # ~250 kB: several 64 kB blocks, lines cut at block edges
    with log.open("a", encoding="utf-8") as file:
        file.write("\n" + Event("fall_alert", 9.0, track_id=3).to_json() + "\n")
    lines = log.read_text(encoding="utf-8").splitlines()
    lines.insert(700, '{"event": "heartbeat"}')  # a foreign line far from the end: line 701
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    newest = json.loads(lines[-1])
    seen, page, older = [], 0, True
    with caplog.at_level(logging.WARNING, logger="edge.events"):
        while older:
            shown, older = events_page(log, page, per_page=400, routine=True)
            seen += shown
            page += 1
    assert seen[0] == newest and [e["id"] for e in seen[1:]] == [e.id for e in reversed(events)]
    # the torn line is named as every reader of the log names it: the file and its line number
    assert [r.getMessage().split(": ")[0] for r in caplog.records] == [f"events log {log}:{n}" for n in (1502, 701)]
    assert events_page(log, 99, routine=True) == ([], False)
    assert events_page(tmp_path / "not-yet.jsonl", 0) == ([], False)
    with pytest.raises(ValueError, match="page = -1"):
        events_page(log, -1)


def test_the_history_hides_routine_events_and_pages_by_events_shown(tmp_path: Path) -> None:
    """Heartbeats every few lines and a few events between them: 50 events shown a page, not 50 lines."""
    log = tmp_path / "events.jsonl"
    kinds = ["fall_suspected", "fall_alert", "acknowledged", "recovered", "source_lost", "source_restored"]
    written = [Event(kinds[i // 9 % 6] if i % 9 == 0 else "heartbeat", float(i), track_id=1) for i in range(630)]
    writer = EventLog(log)
    for event in written:
        writer.write(event)
    writer.close()
    newest = [e.id for e in reversed(written)]
    shown = [e.id for e in reversed(written) if e.event != "heartbeat"]  # 70 of them
    pages = [events_page(log, n) for n in range(3)]
    assert [len(events) for events, _ in pages] == [50, 20, 0]
    assert [older for _, older in pages] == [True, False, False]
    assert [e["id"] for events, _ in pages for e in events] == shown
    assert [e["id"] for e in events_page(log, 1, routine=True)[0]] == newest[50:100]


# -- test alert, acknowledge, doctor -----------------------------------------------------------------
@needs_model
@pytest.mark.parametrize("service", [{"channels": True}], indirect=True)
def test_test_alert_goes_through_every_channel_and_the_page_shows_each_delivery(
    service: Service, browser: Any, receiver: Any
) -> None:
    from selenium.webdriver.common.by import By

    page, pipeline, _ = service
    state, _ = receiver
    log_in_browser(browser, f"http://127.0.0.1:{page.port}")
    browser.find_element(By.ID, "test-alert").click()
    summary = "Buzzer and LED on for 3 s; queued for 2 push channel(s)."  # no voice configured here
    wait_for(lambda: browser.find_element(By.ID, "test-result").text == summary)
    assert isinstance(pipeline.alerts, AlertHub) and isinstance(pipeline.alerts.alarm.pins, SimulatedPins)
    pins, gpio = pipeline.alerts.alarm.pins, pipeline.alerts.alarm.cfg
    assert [(c.pin, c.on) for c in pins.changes][:2] == [(gpio.buzzer_pin, True), (gpio.led_pin, True)]  # briefly
    assert pipeline.alerts.alarm.level == "idle" and not any(e.event == "fall_alert" for e in pipeline.events)
    items = lambda: [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#test li")]  # noqa: E731
    wait_for(lambda: len(items()) == 2 and all(": delivered" in text for text in items()))
    for path in (f"/{TOKEN_1}", f"/{TOKEN_2}"):  # tier 1 and tier 2 both got it
        assert state.titles(path) == ["FallWatch in mother's room: test alert"], path
    assert not any(token in text for text in items() for token in (TOKEN_1, TOKEN_2))  # named, not shown


@needs_model
def test_acknowledge_from_the_page_stops_the_open_alert(tmp_path: Path) -> None:
    page, pipeline = replay_service(tmp_path, tmp_path / "events.jsonl")
    base = f"http://127.0.0.1:{page.port}"
    opener, csrf = log_in(base)
    post = lambda: call(opener, base + "/acknowledge", b"", {"X-CSRF-Token": csrf})  # noqa: E731
    try:
        code, body, _ = post()
        assert code == 409 and json.loads(body) == {"error": "no alert is open"}  # nothing to acknowledge yet
        while not any(e.event == "fall_alert" for e in pipeline.events):
            assert pipeline.step(), "the fall never alerted"
        assert json.loads(call(opener, base + "/status.json")[1])["alert_open"]
        assert post()[0] == 200
        assert pipeline.step()  # the next loop turns the acknowledge into its event
        assert pipeline.events[-1].event == "acknowledged" and pipeline.events[-1].track_id == 1
        assert isinstance(pipeline.alerts, AlertHub) and pipeline.alerts.alarm.level == "idle"  # buzzer off
        assert not json.loads(call(opener, base + "/status.json")[1])["alert_open"]
        assert post()[0] == 409
    finally:
        pipeline.stop()
        page.close()


@needs_model
def test_the_doctor_runs_on_request_with_the_running_camera_and_shows_each_check(
    service: Service, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    page, pipeline, config = service
    log_in_browser(browser, f"http://127.0.0.1:{page.port}")
    assert not browser.find_elements(By.CSS_SELECTOR, "#checks tr")  # not run on page load
    wait_for(lambda: pipeline.live is not None, timeout=60)  # the service has seen its camera (a loaded CPU is slow)
    browser.find_element(By.ID, "doctor").click()
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#checks tr"), timeout=60)
    checks = {row.find_elements(By.TAG_NAME, "td")[1].text: row.find_elements(By.TAG_NAME, "td") for row in rows}
    assert {"config", "camera", "pose", "disk"} <= set(checks), sorted(checks)
    assert [cell.text for cell in checks["config"][:2]] == ["PASS", "config"]
    assert f"{config} loads and validates" in checks["config"][2].text
    # the camera and the pose model the service holds: read from it, not opened a second time
    assert checks["camera"][0].text == "PASS" and "640x480 frames" in checks["camera"][2].text
    assert checks["pose"][0].text == "PASS" and "runs in this service" in checks["pose"][2].text
    assert browser.find_element(By.ID, "doctor-result").text in ("ready", *(f"{n} check(s) failed" for n in range(9)))


# -- security -----------------------------------------------------------------------------------------
@needs_model
@pytest.mark.parametrize("service", [{"channels": True, "events": True}], indirect=True)
def test_no_secret_reaches_any_page_or_answer(service: Service) -> None:
    page, pipeline, config = service
    base = f"http://127.0.0.1:{page.port}"
    text = config.read_text(encoding="utf-8")
    password_hash = re.search(r'password_hash = "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    urls = re.findall(r'"(json://[^"]+)"', text)
    assert len(urls) == 2
    secrets = [password_hash, *urls, TOKEN_1, TOKEN_2, MQTT_SECRET, PASSWORD]
    opener, csrf = log_in(base)
    wait_for(lambda: pipeline.live is not None)
    answers = [call(opener, base + path)[1] for path in ("/", "/login", "/app.js", "/status.json", "/history.json")]
    for path in ("/test-alert", "/doctor", "/acknowledge", "/zones"):
        answers.append(call(opener, base + path, b"{}", {"X-CSRF-Token": csrf})[1])
    answers.append(call(opener, base + "/status.json")[1])  # now with the test alert's deliveries
    for answer in answers:
        for value in secrets:
            assert value.encode() not in answer, value


FOREIGN = """
[notify]
urls = ["nosuchapp://{token}/room"]

[source]
uri = "rtsp://admin:{camera}@127.0.0.1:9/live"

[mqtt]
password = "{mqtt}"
"""


def test_answers_hide_exactly_the_secrets_and_a_doctor_s_link_stays_whole(tmp_path: Path) -> None:
    """Only the configured secret values are hidden: the doctor's fix for a URL Apprise does not know
    links to Apprise's wiki, and the page shows that link whole (not https://github.com/****)."""
    token, camera = "token-1a2b3c4d", "camera-pw-7731"
    config = tmp_path / "config.toml"
    extra = FOREIGN.format(token=token, camera=camera, mqtt=MQTT_SECRET)
    config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra=extra), encoding="utf-8")
    config.chmod(0o600)
    pipeline = Pipeline(load_config(config), events_path="")
    page = WebPage(WebConfig(port=0, password_hash=pipeline.cfg.web.password_hash), config, pipeline, "hall")
    page.start()
    try:
        base = f"http://127.0.0.1:{page.port}"
        opener, csrf = log_in(base)
        code, body, _ = call(opener, base + "/doctor", b"", {"X-CSRF-Token": csrf})
    finally:
        page.close()
    assert code == 200 and token.encode() not in body
    checks = {c["name"]: c for c in json.loads(body)["checks"]}
    assert checks["notify[0]"]["detail"] == "nosuchapp://...: Apprise does not recognise this URL"
    assert checks["notify[0]"]["fix"] == "see https://github.com/caronc/apprise/wiki"
    # what the page scrubs: the notify URL and its token, the camera's and MQTT's passwords, the hash
    hidden = page.secrets.scrub(config.read_text(encoding="utf-8"))
    for value in (token, camera, MQTT_SECRET, pipeline.cfg.web.password_hash):
        assert value not in hidden, value
    assert "rtsp://admin:****@127.0.0.1:9/live" in hidden and "mother's room" in hidden


@needs_model
def test_after_five_wrong_passwords_even_the_right_one_waits(service: Service) -> None:
    import http.cookiejar
    import urllib.parse

    page, _, _ = service
    base = f"http://127.0.0.1:{page.port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def attempt(password: str) -> tuple[int, bytes, Any]:
        form = {"password": password, "token": login_token(opener, base)}
        return call(opener, base + "/login", urllib.parse.urlencode(form).encode())

    for _ in range(5):
        assert attempt("guess")[0] == 401
    code, body, headers = attempt(PASSWORD)
    assert code == 429 and int(headers["Retry-After"]) >= 29 and b"Too many wrong passwords" in body
    assert call(opener, base + "/status.json")[0] == 401  # no session came with it


def test_the_wait_grows_with_each_wrong_password_and_a_right_one_clears_it() -> None:
    now = [0.0]
    limiter = LoginLimiter(free=5, base_s=30.0, max_s=600.0, clock=lambda: now[0])
    for _ in range(4):
        limiter.failed("10.0.0.2")
    assert limiter.wait_s("10.0.0.2") == 0  # four wrong ones cost nothing
    waits = []
    for _ in range(7):
        limiter.failed("10.0.0.2")
        waits.append(limiter.wait_s("10.0.0.2"))
        now[0] += waits[-1]
    assert waits == [30, 60, 120, 240, 480, 600, 600]
    assert limiter.wait_s("10.0.0.3") == 0  # another address is not held back
    limiter.succeeded("10.0.0.2")
    limiter.failed("10.0.0.2")
    assert limiter.wait_s("10.0.0.2") == 0


def bare_page(tmp_path: Path, extra: str = "", events_path: str = "") -> WebPage:
    """A started page on a pipeline that processes no frame (no model needed), its config in tmp_path."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra=extra), encoding="utf-8")
    config.chmod(0o600)
    pipeline = Pipeline(load_config(config), events_path=events_path)
    page = WebPage(WebConfig(port=0, password_hash=pipeline.cfg.web.password_hash), config, pipeline, "hall")
    page.start()
    return page


def test_a_history_page_number_that_is_no_plain_whole_number_is_refused(tmp_path: Path) -> None:
    """Only ASCII digits, and not so many that the log's reader cannot skip that far: 400, not a
    dropped connection (a Unicode digit such as \u00b2 passes str.isdigit but not int()); the same
    for a Content-Length."""
    import http.client

    log = tmp_path / "events.jsonl"
    writer = EventLog(log)
    writer.write(Event("fall_alert", 1.0, track_id=1))
    writer.close()
    page = bare_page(tmp_path, events_path=str(log))
    try:
        base = f"http://127.0.0.1:{page.port}"
        opener, _ = log_in(base)
        codes = {n: call(opener, f"{base}/history.json?page={n}")[0] for n in ("%C2%B2", "9" * 30, "-1", "1.5")}
        code, body, _ = call(opener, base + "/history.json?page=0")
        connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=10)
        connection.putrequest("POST", "/logout")
        connection.putheader("Content-Length", "\u00b2")  # sent as the Latin-1 byte 0xb2
        connection.endheaders()
        length_code = connection.getresponse().status
        connection.close()
    finally:
        page.close()
    assert codes == {"%C2%B2": 400, "9" * 30: 400, "-1": 400, "1.5": 400}
    assert length_code == 413
    assert code == 200 and [e["event"] for e in json.loads(body)["events"]] == ["fall_alert"]


def test_a_secret_json_would_escape_is_still_scrubbed_from_an_answer(tmp_path: Path) -> None:
    """A password with a quote, a backslash or a non-ASCII letter is written escaped in JSON; the
    answer must hide it all the same (the page's scrub works on the strings, before encoding)."""
    password = 'mqtt-pässwort-"9c3e\\'
    page = bare_page(tmp_path, extra=f"[mqtt]\npassword = {json.dumps(password)}\n")
    page.close()
    answer = json_answer(page.secrets, {"checks": [{"detail": f"broker refused {password}"}], password: 1})
    assert "9c3e" not in answer and "p\\u00e4ss" not in answer
    assert json.loads(answer) == {"checks": [{"detail": "broker refused ****"}], "****": 1}


def test_wrong_passwords_sent_all_at_once_are_limited_like_one_after_another(tmp_path: Path) -> None:
    """Many wrong passwords in parallel from one address: one is checked at a time, so no more than
    the free ones are looked at before the address must wait (they cannot all pass the limit's check
    while the first is still being hashed)."""
    import http.cookiejar
    import urllib.parse

    page = bare_page(tmp_path)
    try:
        base = f"http://127.0.0.1:{page.port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = urllib.parse.urlencode({"password": "guess", "token": login_token(opener, base)}).encode()
        start, codes = threading.Barrier(10), []

        def attempt() -> None:
            start.wait()
            codes.append(call(opener, base + "/login", form)[0])

        threads = [threading.Thread(target=attempt) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        page.close()
    assert len(codes) == 10 and set(codes) <= {401, 429}
    assert codes.count(401) <= page.limiter.free, codes


@needs_model
def test_the_login_form_and_every_change_refuse_a_forged_request(service: Service) -> None:
    import http.cookiejar
    import urllib.parse

    page, _, config = service
    base = f"http://127.0.0.1:{page.port}"
    jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    bare = urllib.request.build_opener()  # a forged form on another site: no cookie of ours
    token = login_token(jar, base)
    for opener, form, headers in (
        (bare, {"password": PASSWORD, "token": token}, {}),  # the token without its cookie
        (jar, {"password": PASSWORD}, {}),  # the cookie without the token
        (jar, {"password": PASSWORD, "token": token}, {"Origin": "http://evil.example"}),  # another site
    ):
        code, _, _ = call(opener, base + "/login", urllib.parse.urlencode(form).encode(), headers)
        assert code == 403, (form, headers)
    assert call(jar, base + "/status.json")[0] == 401
    # logged in, with the right CSRF token, but posted by another site's page
    opener, csrf = log_in(base)
    before = config.read_bytes()
    code, body, _ = call(
        opener, base + "/zones", b'{"zones": []}', {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    )
    assert code == 403 and "Origin" in json.loads(body)["error"] and config.read_bytes() == before
    same = {"X-CSRF-Token": csrf, "Origin": base}
    assert call(opener, base + "/zones", b'{"zones": []}', same)[0] == 200


# -- one page per camera ------------------------------------------------------------------------------
def test_each_camera_s_page_names_its_own_room_and_state(tmp_path: Path) -> None:
    """fallwatch@NAME runs one service per camera, each with its own config and web.port."""
    pages = []
    for room in ("kitchen", "bedroom"):
        config = tmp_path / f"{room}.toml"
        config.write_text(CONFIG.format(hash=hash_password(PASSWORD), extra=""), encoding="utf-8")
        pipeline = Pipeline(load_config(None, [f'room="{room}"']), events_path="")
        page = WebPage(WebConfig(port=0, password_hash=hash_password(PASSWORD)), config, pipeline, room)
        page.start()
        pages.append(page)
    try:
        for page, room in zip(pages, ("kitchen", "bedroom"), strict=True):
            base = f"http://127.0.0.1:{page.port}"
            opener, _ = log_in(base)
            status = json.loads(call(opener, base + "/status.json")[1])
            assert (status["room"], status["state"]) == (room, "starting")
            assert f"<title>FallWatch {room}</title>" in call(opener, base + "/")[1].decode()
    finally:
        for page in pages:
            page.close()


# -- the demo with its page ----------------------------------------------------------------------------
@needs_model
def test_demo_with_web_serves_the_page_on_the_real_clip_and_draws_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make demo WEB=PORT`: MediaPipe on the shipped clip; while the demo waits for Enter, the page
    (one-time password printed) shows the demo's fall with the skeleton pictures; the video shows the
    page's address at the bottom of every frame."""
    import io

    import cv2

    import edge.commands.demo
    from edge.cli import main as cli_main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(edge.commands.demo, "MODEL", MODEL)
    port, said, seen = free_port(), [], {}
    base = f"http://127.0.0.1:{port}"

    class Enter(io.StringIO):
        """The person at the terminal: looks at the page, then presses Enter."""

        def readline(self, *args: Any) -> str:
            said.append(capsys.readouterr().out)
            match = re.search(r"\(password: (\S+)\); Enter stops it", said[-1])
            assert match, said[-1]
            opener, _ = log_in(base, match.group(1))
            seen.update(json.loads(call(opener, base + "/status.json")[1]))
            return "\n"

    monkeypatch.setattr("sys.stdin", Enter())
    assert cli_main(["demo", "--web", str(port)]) == 0
    assert f"set-up page: {base}/" in said[0]
    assert [e["event"] for e in seen["events"]][-2:] == ["fall_alert", "fall_suspected"]
    assert all(e["picture"] for e in seen["events"] if e["track_id"] is not None)
    config = tmp_path / "out" / "demo" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    with pytest.raises(urllib.error.URLError):  # Enter stopped the page
        urllib.request.urlopen(base + "/login", timeout=2)
    clip = cv2.VideoCapture(str(CLIP)).read()[1].astype(float)
    video = cv2.VideoCapture(str(tmp_path / "out" / "demo" / "demo.mp4")).read()[1].astype(float)
    assert np.abs(clip - video)[-24:, :320].mean() > 15  # the address, at the bottom left
    assert np.abs(clip - video)[:-40].mean() < 10  # the room above it is the clip's


# -- settings ------------------------------------------------------------------------------------------
def setting(browser: Any, key: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, f"setting-{key}")


@needs_model
def test_settings_form_saves_confirm_s_to_the_file_and_the_running_detector_uses_it(
    service: Service, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    page, pipeline, config = service
    log_in_browser(browser, f"http://127.0.0.1:{page.port}")
    # the form, from the declarations: an input for each key's kind, with its bounds, unit and doc
    confirm = wait_for(lambda: browser.find_elements("id", "setting-events.confirm_s"))[0]
    assert (confirm.get_attribute("type"), confirm.get_attribute("min"), confirm.get_attribute("step")) == (
        "number",
        "0",
        "any",
    )
    assert confirm.get_attribute("value") == "10" and confirm.get_dom_attribute("max") is None
    row = confirm.find_element("xpath", "./ancestor::tr").text
    assert "Seconds after `fall_suspected`" in row and "Must be >= 0 seconds. Default: 10 seconds." in row
    assert setting(browser, "gpio.buzzer_pin").get_attribute("max") == "40"
    assert Select(setting(browser, "gpio.backend")).first_selected_option.text == "simulated"
    assert setting(browser, "notify.attach_skeleton").get_attribute("type") == "checkbox"
    assert setting(browser, "room").get_attribute("value") == "mother's room"
    for key in ("mqtt.password", "notify.urls", "notify.tiers", "events.bed_zones"):  # not inputs
        assert not browser.find_elements("id", f"setting-{key}"), key
    assert "secret: set in the config file" in browser.find_element("id", "settings-mqtt").text
    browser.execute_script(
        "document.getElementById('settings').previousElementSibling.previousElementSibling.scrollIntoView()"
    )
    screenshot(browser, "setup-page-settings.png", tmp_path)

    before = config.read_text(encoding="utf-8")
    confirm.clear()
    confirm.send_keys("4.5")
    setting(browser, "voice.device").send_keys("default")  # a key that needs a restart, in no table yet
    browser.find_element("id", "save-settings").click()
    result = wait_for(lambda: browser.find_element("id", "settings-result").text)
    assert result == (
        "Saved. events.confirm_s: applied now; voice.device: applies after a restart of "
        f"`fallwatch run --config {config}`."
    )
    # on disk: that line changed, the new key added in its own table, every other line as it was
    expected = before.replace("confirm_s = 10.0\n", "confirm_s = 4.5\n") + '\n[voice]\ndevice = "default"\n'
    assert config.read_text(encoding="utf-8") == expected
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    # the running detector uses it from its next frame; the form shows the file's new value
    assert pipeline.detector is not None
    wait_for(lambda: pipeline.detector.events.cfg.confirm_s == 4.5)
    assert pipeline.detector.events.cfg.bed_zones == [] and runner_alive(pipeline)
    wait_for(lambda: setting(browser, "voice.device").get_attribute("value") == "default")


@needs_model
def test_an_out_of_bounds_setting_is_refused_with_the_one_line_message_and_nothing_changes(
    service: Service, browser: Any
) -> None:
    page, pipeline, config = service
    log_in_browser(browser, f"http://127.0.0.1:{page.port}")
    before = config.read_bytes()
    confirm = wait_for(lambda: browser.find_elements("id", "setting-events.confirm_s"))[0]
    confirm.clear()
    confirm.send_keys("-1")
    browser.find_element("id", "save-settings").click()
    result = wait_for(lambda: browser.find_element("id", "settings-result").text)
    assert result == f"Not saved: {config}: events.confirm_s = -1: must be >= 0 seconds"
    assert config.read_bytes() == before
    assert pipeline.detector is not None and pipeline.detector.events_next.confirm_s == 10.0


@needs_model
def test_a_setting_changed_during_a_fall_applies_to_it_between_frames(tmp_path: Path) -> None:
    """The shipped fall, replayed with confirm_s = 1: suspected at 2.1 s. confirm_s set to 3 through
    the page right then: the alert comes 3 s after the suspicion, not 1 s."""
    page, pipeline = replay_service(tmp_path, tmp_path / "events.jsonl", confirm_s=1.0)
    base = f"http://127.0.0.1:{page.port}"
    try:
        while not any(e.event == "fall_suspected" for e in pipeline.events):
            assert pipeline.step(), "the fall was never suspected"
        opener, csrf = log_in(base)
        code, body, _ = call(opener, base + "/settings", b'{"values": {"events.confirm_s": 3}}', {"X-CSRF-Token": csrf})
        assert (code, json.loads(body)) == (200, {"live": ["events.confirm_s"], "restart": []})
        while pipeline.step():
            pass
    finally:
        pipeline.stop()
        page.close()
    times = {e.event: e.video_time for e in pipeline.events}
    assert 3.0 <= times["fall_alert"] - times["fall_suspected"] < 3.2, times


@needs_model
@pytest.mark.parametrize("service", [{"channels": True}], indirect=True)
def test_the_settings_carry_no_secret_and_refuse_secrets_lists_and_a_missing_csrf_token(service: Service) -> None:
    from edge.web.settings import page_settings

    page, _, config = service
    base = f"http://127.0.0.1:{page.port}"
    secrets = [TOKEN_1, TOKEN_2, MQTT_SECRET, re.search(r'password_hash = "([^"]+)"', config.read_text()).group(1)]  # type: ignore[union-attr]
    raw = json.dumps(page_settings(config))  # before the page's last-resort scrub of every answer
    opener, csrf = log_in(base)
    served = call(opener, base + "/settings.json")[1].decode()
    for text in (raw, served):
        assert [value for value in secrets if value in text] == []
    fields = {f["key"]: f for s in json.loads(served)["sections"] for f in s["fields"]}
    assert fields["mqtt.password"]["value"] is None and not fields["mqtt.password"]["editable"]
    assert fields["notify.tiers"]["value"] == [{"urls": None, "after_min": 5.0}]
    assert "web.password_hash" not in fields and "classifier.model" not in fields  # not a room's settings
    before = config.read_bytes()
    for values, refused in (
        ({"mqtt.password": "guess"}, "mqtt.password: not editable on this page; set it in the config file"),
        ({"notify.urls": []}, "notify.urls: not editable on this page; set it in the config file"),
        ({"web.port": 1}, "web.port: not editable on this page; set it in the config file"),
    ):
        code, body, _ = call(
            opener, base + "/settings", json.dumps({"values": values}).encode(), {"X-CSRF-Token": csrf}
        )
        assert (code, json.loads(body)) == (400, {"error": refused})
    change = json.dumps({"values": {"events.confirm_s": 5}}).encode()
    for headers in ({}, {"X-CSRF-Token": "guess"}):  # logged in, but no (or a wrong) CSRF token
        assert call(opener, base + "/settings", change, headers)[0] == 403
    assert config.read_bytes() == before
    assert call(opener, base + "/settings", change, {"X-CSRF-Token": csrf})[0] == 200


CONFIRM = {"events.confirm_s": 4.5}


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        (  # the key's line only; its own comment kept
            '[events]\nconfirm_s = 10.0  # seconds\nask = "a # b"\n',
            CONFIRM,
            '[events]\nconfirm_s = 4.5  # seconds\nask = "a # b"\n',
        ),
        (  # a value over several lines is replaced whole
            "[events]\nbed_zones = [\n  [[0, 0], [1, 0], [1, 1]],  # the old bed\n]\nconfirm_s = 3.0\n",
            {"events.bed_zones": [], **CONFIRM},
            "[events]\nbed_zones = []\nconfirm_s = 4.5\n",
        ),
        (  # an absent key: after the table's last key, not among the next table's comments
            "[events]\nrecover_s = 3.0\n\n# the page\n[web]\nport = 0\n",
            CONFIRM,
            "[events]\nrecover_s = 3.0\nconfirm_s = 4.5\n\n# the page\n[web]\nport = 0\n",
        ),
        ('room = "x"\n[web]\n', CONFIRM, 'room = "x"\n[web]\n\n[events]\nconfirm_s = 4.5\n'),  # an absent table
        (  # a top-level key, before the first table; a last line without its newline
            '# mine\nroom = "x"\n\n[events]\nconfirm_s = 1',
            {"room": "y", **CONFIRM},
            '# mine\nroom = "y"\n\n[events]\nconfirm_s = 4.5\n',
        ),
    ],
)
def test_set_keys_changes_only_those_keys_lines(text: str, values: dict[str, Any], expected: str) -> None:
    assert set_keys(text, values) == expected


def test_a_key_under_a_value_is_refused_and_the_file_unchanged(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("events = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.toml: events\.confirm_s: events is not a table in this file"):
        save_keys(config, {"events.confirm_s": 4.5})
    assert config.read_text(encoding="utf-8") == "events = 3\n"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("events.confirm_s = 3.0\n", "events.confirm_s"),  # a dotted key
        ("events = {confirm_s = 3.0}\n", "events.confirm_s"),  # an inline table
        ('[voice]\nask = """\nname = "Ann"\n"""\n', "voice.name"),  # the key's name inside a multi-line string
    ],
)
def test_a_layout_the_line_editing_cannot_follow_is_refused_and_the_file_unchanged(
    tmp_path: Path, text: str, key: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o640)
    with pytest.raises(ConfigError, match=f"{key} is written in a form this page cannot edit; edit it by hand"):
        save_keys(config, {key: "Bob" if key == "voice.name" else 4.5})
    assert config.read_text(encoding="utf-8") == text
    if key == "voice.name":  # another key of the same table is edited as usual, the file's mode kept
        assert save_keys(config, {"voice.language": "de"}).voice.language == "de"
        assert config.read_text(encoding="utf-8") == text + 'language = "de"\n'
        assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_the_restart_named_is_the_service_s() -> None:
    from edge.web.settings import restart_command

    assert restart_command("/etc/fallwatch/kitchen/config.toml") == "`sudo systemctl restart fallwatch@kitchen`"
    assert restart_command("/etc/fallwatch/config.toml") == "`sudo systemctl restart fallwatch`"
    assert restart_command("/home/me/fw.toml") == "a restart of `fallwatch run --config /home/me/fw.toml`"
