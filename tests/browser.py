#!/usr/bin/python3
# tests/browser.py: a person at a phone, in a real browser (Debian's chromium and chromedriver,
# through python3-selenium): open the link serve printed, see the waiting step, write a note,
# press a button, and read what the page says then.
# usage: browser.py LINK STEP BUTTON NOTE SCREENSHOT (BUTTON -: only look, and take the screenshot)
# Prints what it saw, one fact a line; exits 1 when something expected is not there.
import sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.support import expected_conditions as ec

link, step, button, note, shot = sys.argv[1:6]
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=412,892"):
    opts.add_argument(a)
opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 412, "height": 892, "pixelRatio": 1.0}})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    wait = WebDriverWait(driver, 20)
    driver.get(link)
    card = wait.until(ec.presence_of_element_located((By.XPATH, "//section[h2='%s']" % step)))
    print("url", driver.current_url)
    print("width", driver.execute_script("return document.documentElement.clientWidth"))
    print("scroll-width", driver.execute_script("return document.documentElement.scrollWidth"))
    form = card.find_element(By.TAG_NAME, "form")
    press = form.find_elements(By.TAG_NAME, "button")[-1] if button == "-" else \
        form.find_element(By.XPATH, ".//button[normalize-space()='%s']" % button)
    top = driver.execute_script("return arguments[0].getBoundingClientRect().bottom", press)
    print("form-visible", form.is_displayed() and press.is_displayed() and top <= 892)
    driver.save_screenshot(shot)
    if button == "-":
        sys.exit(0)
    form.find_element(By.NAME, "note").send_keys(note)
    press.click()
    try:
        flash = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "p.flash")))
    except Exception:
        print("page", driver.page_source[:2000])
        raise
    print("flash", flash.text)
finally:
    driver.quit()
