"""A real browser on the real pages: Debian's Chromium driven by selenium against the built
`proviso serve --demo`. A member signs in, turns the AI switch off, reloads and sees it off,
gets a receipt, and the decision API denies with opted-out."""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BIN = os.environ.get("PROVISO_BIN", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "proviso"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server():
    workdir = tempfile.mkdtemp(prefix="proviso-browser-")
    db = os.path.join(workdir, "proviso.sqlite")
    port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--demo", "--port", str(port), "--database", db],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    DATABASES[base] = db
    for _ in range(300):  # bounded wait for readiness, no fixed sleep
        try:
            if urllib.request.urlopen(base + "/readyz", timeout=1).status == 200:
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("proviso serve exited: " + proc.stderr.read())
            time.sleep(0.05)
    token = subprocess.run([BIN, "tokens", "create", "--name", "browser-test", "--scope", "decisions:read", "--database", db],
                           check=True, capture_output=True, text=True).stdout.strip()
    yield base, token
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def browser():
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1600"]:
        options.add_argument(arg)
    # The driver is named explicitly so selenium never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def decide(base, token, member_id):
    req = urllib.request.Request(base + "/v1/decisions", method="POST",
                                 data=json.dumps({"member": member_id, "purpose": "genai-training", "category": "profile"}).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def ai_switch(driver):
    article = driver.find_element(By.ID, "genai-improvement")
    return article, article.find_element(By.CSS_SELECTOR, ".state").text


def test_member_turns_ai_training_off_and_the_api_denies(server, browser):
    base, token = server
    browser.get(base + "/")
    assert browser.current_url.endswith("/login")
    browser.find_element(By.ID, "member").send_keys("demo-eu")
    browser.find_element(By.ID, "password").send_keys("proviso-demo")
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    # A click does not wait for the next page: wait (bounded) for the condition itself.
    WebDriverWait(browser, 10).until(EC.url_matches(r"/settings$"))
    assert "Data for Generative AI Improvement" in browser.page_source
    assert "Use my data for training content creation AI models" in browser.page_source
    article, state = ai_switch(browser)
    assert state == "On"
    assert "On by default in your region since 3 Nov 2025" in article.text
    assert decide(base, token, "900000")["reasons"] == ["default-on"]

    article.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    notice = WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".notice")))
    assert "is now off" in notice.text
    receipt_link = notice.find_element(By.TAG_NAME, "a").get_attribute("href")

    browser.refresh()
    article, state = ai_switch(browser)
    assert state == "Off"
    assert "Off since you turned it off on" in article.text

    browser.get(base + "/receipts")
    WebDriverWait(browser, 10).until(EC.title_contains("Receipts"))
    assert "Receipt" in browser.page_source and receipt_link.split("/")[-1] in browser.page_source
    assert decide(base, token, "900000")["reasons"] == ["opted-out"]


def sign_in(browser, base, login):
    browser.get(base + "/login")
    browser.find_element(By.ID, "member").send_keys(login)
    browser.find_element(By.ID, "password").send_keys("proviso-demo")
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    WebDriverWait(browser, 10).until(EC.url_matches(r"/settings$"))


def test_a_published_widening_reaches_the_inbox_with_a_countdown(server, browser):
    base, _ = server
    db = server_db(base)
    # A version 40 days out that lets AI training use non-public content: every region widens.
    import datetime
    effective = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=40)).isoformat()
    seed = subprocess.run([BIN, "policy", "show", "--json", "--database", db], check=True, capture_output=True, text=True).stdout
    text = seed.replace('"version": "seed-2025-11-03"', f'"version": "browser-v2", "effective_from": "{effective}"', 1) \
               .replace('"public_only": true', '"public_only": false')
    path = os.path.join(os.path.dirname(db), "v2.json")
    with open(path, "w") as f:
        f.write(text)
    published = subprocess.run([BIN, "policy", "publish", path, "--database", db], capture_output=True, text=True)
    assert published.returncode == 0, published.stderr

    sign_in(browser, base, "demo-uk")
    badge = browser.find_element(By.CSS_SELECTOR, "nav a[href='/notices'] .badge")
    assert badge.text == "1"
    browser.find_element(By.CSS_SELECTOR, "nav a[href='/notices']").click()
    WebDriverWait(browser, 10).until(EC.title_contains("Notices"))
    assert "Takes effect in 40 days" in browser.page_source
    assert "It may also use content that is not public." in browser.page_source
    browser.find_element(By.LINK_TEXT, "Review this setting").click()
    WebDriverWait(browser, 10).until(EC.url_contains("/settings#genai-improvement"))
    assert not browser.find_elements(By.CSS_SELECTOR, "nav a[href='/notices'] .badge"), "read once opened"


def test_a_gpc_signal_is_honoured_and_said_so(server, browser):
    base, _ = server
    # Chromium sends no GPC of its own: add the header to every request through DevTools.
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Sec-GPC": "1"}})
    sign_in(browser, base, "demo-us")
    browser.refresh()
    assert "Opt-out preference signal honored" in browser.page_source
    state = browser.find_element(By.ID, "ads-off-platform").find_element(By.CSS_SELECTOR, ".state").text
    assert state == "Off"
    # Without the signal nothing turns back on.
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    browser.refresh()
    assert browser.find_element(By.ID, "ads-off-platform").find_element(By.CSS_SELECTOR, ".state").text == "Off"


DATABASES = {}


def server_db(base):
    return DATABASES[base]


def test_turning_ai_off_reserves_the_public_profile_for_crawlers(server, browser):
    base, _ = server
    def headers(path):
        with urllib.request.urlopen(base + path) as r:
            return r.headers
    assert headers("/in/demo-ca").get("Content-Usage") is None
    browser.get(base + "/in/demo-ca")
    assert not browser.find_elements(By.CSS_SELECTOR, "meta[name='tdm-reservation']")

    sign_in(browser, base, "demo-ca")
    ai = browser.find_element(By.ID, "genai-improvement")
    ai.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".notice")))

    h = headers("/in/demo-ca")
    assert h.get("Content-Usage") == "train-ai=n"
    assert h.get("tdm-reservation") == "1"
    browser.get(base + "/in/demo-ca")
    meta = browser.find_element(By.CSS_SELECTOR, "meta[name='tdm-reservation']")
    assert meta.get_attribute("content") == "1"
    assert "Maya Tremblay" in browser.page_source
    robots = urllib.request.urlopen(base + "/robots.txt").read().decode()
    assert "Content-Usage: /in/demo-ca train-ai=n" in robots
