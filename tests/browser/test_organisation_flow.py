"""An employer's reminder campaign, end to end in Chromium: the admin of a demo organisation
sends a reminder; a member receives it, acknowledges it and turns the AI switch off; the admin
sees the acknowledgement and the changed share. A small organisation's admin sees nothing about
their group until k (10) members have confirmed it as their employer."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from test_member_flow import browser, server, sign_in  # noqa: F401 (pytest fixtures)


def sign_out(driver):
    driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    WebDriverWait(driver, 10).until(EC.url_matches(r"/login$"))


def newest_campaign(driver):
    row = driver.find_element(By.CSS_SELECTOR, "#campaigns tbody tr")
    return {k: int(row.find_element(By.CSS_SELECTOR, "td." + k).text) for k in ("reached", "read", "acknowledged")}, row.text


def ai_share(driver):
    text = driver.find_element(By.CSS_SELECTOR, "#shares tr[data-setting='genai-improvement'] td:nth-child(2)").text
    return float(text.rstrip(" %"))


def test_a_reminder_is_sent_acknowledged_and_counted_without_revealing_anyone(server, browser):
    base, _ = server
    sign_in(browser, base, "demo-admin")
    browser.find_element(By.LINK_TEXT, "Admin: Northwind Traders").click()
    WebDriverWait(browser, 10).until(EC.url_matches(r"/orgs/northwind$"))
    share_before = ai_share(browser)
    message = browser.find_element(By.ID, "message")
    message.clear()
    message.send_keys("Browser test: please review your AI settings.")
    browser.find_element(By.CSS_SELECTOR, "form[action='/orgs/northwind/campaigns'] button").click()
    flash = WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".notice")))
    assert "Reminder sent to" in flash.text
    counts, text = newest_campaign(browser)
    assert "Browser test" in text and counts["acknowledged"] == 0 and counts["reached"] >= 10
    sign_out(browser)

    sign_in(browser, base, "demo-eu")
    browser.find_element(By.CSS_SELECTOR, "nav a[href='/notices']").click()
    WebDriverWait(browser, 10).until(EC.title_contains("Notices"))
    reminder = browser.find_element(By.CSS_SELECTOR, "li.reminder")
    assert "Northwind Traders asks you to review your AI-training and advertising settings" in reminder.text
    assert "Browser test: please review your AI settings." in reminder.text
    reminder.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    done = WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".notice")))
    assert "acknowledgement is recorded" in done.text
    browser.get(base + "/settings")
    browser.find_element(By.CSS_SELECTOR, "#genai-improvement button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".notice")))
    assert browser.find_element(By.CSS_SELECTOR, "#genai-improvement .state").text == "Off"
    sign_out(browser)

    sign_in(browser, base, "demo-admin")
    browser.get(base + "/orgs/northwind")
    after, _ = newest_campaign(browser)
    assert after["acknowledged"] == 1 and after["read"] >= 1 and after["reached"] == counts["reached"]
    assert ai_share(browser) > share_before, "demo-eu's opt-out shows in the aggregate"
    page = browser.page_source
    assert "Lena Weber" not in page and "900000" not in page, "no member is named to the admin"
    # The admin cannot open a member's settings.
    browser.get(base + "/v1/members/900000/settings")
    assert "403" in browser.page_source or "Forbidden" in browser.page_source


def test_a_small_organisation_shows_nothing_until_k_members_confirm_it(server, browser):
    base, _ = server
    sign_in(browser, base, "demo-uk")
    browser.get(base + "/orgs/fabrikam")
    assert browser.find_element(By.ID, "too-few").is_displayed()
    assert not browser.find_elements(By.ID, "shares")
    assert browser.find_element(By.ID, "affiliated").text == "7"
    sign_out(browser)
    # Three more people confirm Fabrikam as their employer: 10 = k.
    for login in ("demo-us", "demo-ch", "demo-compliance"):
        sign_in(browser, base, login)
        browser.find_element(By.CSS_SELECTOR, "nav a[href='/organisation']").click()
        WebDriverWait(browser, 10).until(EC.title_contains("Employer"))
        form = browser.find_element(By.CSS_SELECTOR, "form[method=post]:not(.inline)[action='/organisation']")
        form.find_element(By.CSS_SELECTOR, "select#org option[value='fabrikam']").click()
        form.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
        form.find_element(By.CSS_SELECTOR, "button.primary").click()
        WebDriverWait(browser, 10).until(EC.url_contains("saved=joined"))
        sign_out(browser)
    sign_in(browser, base, "demo-uk")
    browser.get(base + "/orgs/fabrikam")
    assert browser.find_element(By.ID, "affiliated").text == "10"
    assert not browser.find_elements(By.ID, "too-few")
    assert browser.find_element(By.CSS_SELECTOR, "#shares tr[data-setting='genai-improvement']")
