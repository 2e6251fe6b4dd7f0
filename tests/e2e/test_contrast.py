"""WCAG 2.x AA contrast in Chromium (issue 14): every visible text on the main pages, in a
realistic state (healthy, failed and paused sources, a field error and a failed verify, shown
keys and links, an open table), has a contrast ratio of at least 4.5:1 against the background
it is painted on (3:1 for large text); and a keyboard user's focus indicator (:focus-visible
outline or box shadow) has at least 3:1 against the background around it.

The page's own computed colours are measured (one script per page state: CONTRAST_JS below),
so a colour changed in static/app.css or a new page is checked without touching this file. A
page to check is one `View` in VIEWS; tabs ([role=tab]) on a page are clicked through and every
<details> is opened, so hidden panels are measured too. Disabled controls are skipped (WCAG's
contrast rule exempts inactive components), as are texts over a background image and texts a
screen reader alone reads (clipped to 1 px)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.first_run import fill_setup

pytestmark = pytest.mark.e2e


# Returns the texts whose contrast is too low on the page as it is now: one dict per element.
CONTRAST_JS = r"""
() => {
  const WHITE = [1, 1, 1, 1];
  const canvas = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
  // A CSS colour as premultiplied [r, g, b, a] in 0..1 (rgb() directly, anything else by canvas).
  const rgba = (css) => {
    const m = css.match(/^rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[,/ ]+([\d.]+%?))?\)$/);
    let c;
    if (m) {
      let a = m[4] === undefined ? 1 : parseFloat(m[4]);
      if (m[4] && m[4].endsWith('%')) a /= 100;
      c = [m[1] / 255, m[2] / 255, m[3] / 255, a];
    } else {
      canvas.clearRect(0, 0, 1, 1);
      canvas.fillStyle = 'rgba(0, 0, 0, 0)';
      canvas.fillStyle = css;
      canvas.fillRect(0, 0, 1, 1);
      const d = canvas.getImageData(0, 0, 1, 1).data;
      c = [d[0] / 255, d[1] / 255, d[2] / 255, d[3] / 255];
    }
    return [c[0] * c[3], c[1] * c[3], c[2] * c[3], c[3]];
  };
  const over = (s, d) => s.map((v, i) => v + d[i] * (1 - s[3]));
  // The element's ancestors, outermost first: background and opacity of each.
  const layersOf = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      layers.unshift({bg: rgba(cs.backgroundColor), opacity: parseFloat(cs.opacity),
                      image: cs.backgroundImage !== 'none'});
    }
    return layers;
  };
  // A background image shows through unless a later (inner) layer is opaque.
  const overImage = (layers) => {
    let image = false;
    for (const l of layers) image = l.bg[3] >= 1 ? false : image || l.image;
    return image;
  };
  // The pixel colour after painting layers i.. over `backdrop` (an opacity below 1 makes a
  // group: painted alone, then composited with that opacity), `top` painted innermost.
  const paint = (layers, i, backdrop, top) => {
    if (i === layers.length) return top ? over(top, backdrop) : backdrop;
    const l = layers[i];
    if (l.opacity >= 1) return paint(layers, i + 1, over(l.bg, backdrop), top);
    const group = paint(layers, i + 1, l.bg, top);
    return over(group.map((v) => v * l.opacity), backdrop);
  };
  const luminance = (c) => {
    const linear = (v) => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const [r, g, b] = c.slice(0, 3).map(linear);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const byte = (v) => Math.round(v * 255).toString(16).padStart(2, '0');
  const hex = (c) => '#' + c.slice(0, 3).map(byte).join('');
  const selector = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      let part = e.localName;
      if (e.id) { parts.unshift(part + '#' + e.id); break; }
      if (e.classList.length) part += '.' + [...e.classList].join('.');
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  // Read by a screen reader only: inside a box clipped to a pixel or less.
  const clippedAway = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const r = e.getBoundingClientRect();
      const cs = getComputedStyle(e);
      const tiny = r.width <= 1 || r.height <= 1;
      if (tiny && (cs.overflow !== 'visible' || cs.clip !== 'auto')) return true;
    }
    return false;
  };
  const inactive = (el) => el.closest('[disabled], [aria-disabled="true"]') !== null
    || (el.closest('label') && el.closest('label').control && el.closest('label').control.disabled);
  const failures = [];
  let measured = 0;
  const check = (el, text, colour) => {
    const cs = getComputedStyle(el);
    const layers = layersOf(el);
    if (overImage(layers)) return;
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(cs.fontWeight, 10) >= 700);
    const needed = large ? 3 : 4.5;
    const bg = paint(layers, 0, WHITE, null);
    const fg = paint(layers, 0, WHITE, rgba(colour));
    const r = ratio(fg, bg);
    measured += 1;
    if (r < needed - 0.005) {
      failures.push({selector: selector(el), text: text.trim().replace(/\s+/g, ' ').slice(0, 60),
                     colour: hex(fg), background: hex(bg), ratio: Math.round(r * 100) / 100,
                     needed, size: cs.fontSize});
    }
  };
  const skip = 'script, style, noscript, template, title, svg, option, head';
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.data.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest(skip) || inactive(el)) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (![...range.getClientRects()].some((r) => r.width > 0 && r.height > 0)) continue;
    if (clippedAway(el)) continue;
    check(el, node.data, getComputedStyle(el).color);
  }
  // The text inside form controls: their value, else their placeholder.
  const boxes = 'input:not([type=hidden], [type=checkbox], [type=radio], [type=range], '
    + '[type=color]), select, textarea';
  for (const el of document.querySelectorAll(boxes)) {
    if (inactive(el) || clippedAway(el)) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    if (el.localName === 'select') {
      const option = el.selectedOptions[0];
      if (option && option.text.trim()) check(el, option.text, getComputedStyle(el).color);
    } else if (el.value) {
      check(el, el.value, getComputedStyle(el).color);
    } else if (el.placeholder) {
      check(el, el.placeholder, getComputedStyle(el, '::placeholder').color);
    }
  }
  return {measured, failures};
}
"""

# What the focused element shows a keyboard user ("none": nothing in the page has focus,
# "again": focus is back on an element already seen, i.e. the whole page was tabbed through).
FOCUS_JS = r"""
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return 'none';
  if (el.dataset.contrastSeen) return 'again';
  el.dataset.contrastSeen = '1';
  const cs = getComputedStyle(el);
  const label = el.innerText || el.value || el.getAttribute('aria-label') || '';
  const name = el.localName + (el.id ? '#' + el.id : '')
    + ' "' + label.trim().replace(/\s+/g, ' ').slice(0, 40) + '"';
  const result = {name, focusVisible: el.matches(':focus-visible'), indicator: null};
  let colour = null;
  let inside = false;
  if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1) {
    colour = cs.outlineColor;
    inside = parseFloat(cs.outlineOffset) < 0;
    result.indicator = 'outline ' + cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + colour;
  } else if (cs.boxShadow !== 'none') {
    const m = cs.boxShadow.match(/rgba?\([^)]*\)/);
    colour = m ? m[0] : null;
    inside = cs.boxShadow.includes('inset');
    result.indicator = 'box-shadow ' + cs.boxShadow;
  }
  if (colour) {
    result.ratio = window.__contrastOf(colour, inside ? el : (el.parentElement || el));
  }
  return result;
}
"""

# A helper the focus check uses: the ratio of a colour against an element's background.
CONTRAST_OF_JS = r"""
() => {
  window.__contrastOf = (colour, el) => {
    const parse = (css) => {
      const m = css.match(/^rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[,/ ]+([\d.]+))?\)$/);
      const a = m && m[4] !== undefined ? parseFloat(m[4]) : 1;
      return m ? [m[1] / 255 * a, m[2] / 255 * a, m[3] / 255 * a, a] : [0, 0, 0, 0];
    };
    const over = (s, d) => s.map((v, i) => v + d[i] * (1 - s[3]));
    let bg = [1, 1, 1, 1];
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.unshift(e);
    for (const e of chain) bg = over(parse(getComputedStyle(e).backgroundColor), bg);
    const fg = over(parse(colour), bg);
    const lum = (c) => {
      const linear = (v) => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      const [r, g, b] = c.slice(0, 3).map(linear);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100;
  };
}
"""


@dataclass
class Found:
    """What the test found on every page state, reported together at the end."""

    text: list[str] = field(default_factory=list)
    focus: dict[str, list[str]] = field(default_factory=dict)  # a problem: the elements
    measured: dict[str, int] = field(default_factory=dict)

    def contrast(self, page: Page, name: str) -> None:
        """Measure every visible text of the page as it is now."""
        result = page.evaluate(CONTRAST_JS)
        self.measured[name] = result["measured"]
        for f in result["failures"]:
            self.text.append(
                f"{name}: {f['selector']} {f['text']!r}: {f['colour']} on {f['background']} "
                f"= {f['ratio']}:1, needs {f['needed']}:1 (font {f['size']})"
            )

    def keyboard(self, page: Page, name: str, presses: int = 80) -> int:
        """Tab through the page; every focused element must show a 3:1 focus indicator."""
        page.evaluate(CONTRAST_OF_JS)
        reached = 0
        for _ in range(presses):
            page.keyboard.press("Tab")
            state = page.evaluate(FOCUS_JS)
            if state == "again":
                break
            if state == "none":
                continue
            reached += 1
            if not state["focusVisible"]:
                problem = "does not match :focus-visible"
            elif state["indicator"] is None:
                problem = "shows no outline or box shadow"
            elif state.get("ratio", 0) < 3:
                problem = f"{state['indicator']} = {state.get('ratio')}:1, needs 3:1"
            else:
                continue
            self.focus.setdefault(f"{name}: focus {problem}", []).append(state["name"])
        return reached

    def report(self) -> list[str]:
        """Every problem, one line each (a focus problem names the elements that have it)."""
        focus = [f"{problem} on: {', '.join(names)}" for problem, names in self.focus.items()]
        return self.text + focus


@dataclass(frozen=True)
class View:
    """One page state to measure: where it is, what to do there first, and whether to tab
    through it (the focus check)."""

    name: str
    path: str  # formatted with the ids the test made: "/sources/{demo}", "/sources/{failed}"
    ready: Callable[[Page], Any] = lambda page: None
    keyboard: bool = False


def _sources_ready(page: Page) -> None:
    expect(page.locator(".status-failed").first).to_be_visible()
    expect(page.locator(".badge.paused").first).to_be_visible()


def _add_form_with_errors(page: Page) -> None:
    """A SQLite file that is not in the data folder: the field's error and the failed verify."""
    page.get_by_label("Display name").fill("Finance archive")
    page.get_by_label("Dialect", exact=True).select_option("SQLITE")
    page.get_by_label("Database file").fill("finance/missing.sqlite")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#databaseName-error")).to_have_text(re.compile("not found"))
    expect(page.locator("#verify-result .banner.error")).to_be_visible()


def _section(page: Page, name: str) -> None:
    """Show the source page's section `name` (its tab, when the page has tabs)."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count():
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")


def _demo_source_opened(page: Page) -> None:
    _section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("SUCCESS")
    page.get_by_text("main.orders", exact=True).click()
    expect(page.get_by_role("cell", name="customer_id")).to_be_visible()
    _section(page, "Settings")
    page.get_by_role("button", name="Create webhook token").click()
    expect(page.locator("#webhook-token-shown")).to_be_visible()


def _failed_source_checked(page: Page) -> None:
    _section(page, "Health")
    page.locator("#health-panel").get_by_role("button", name="Check now").click()
    expect(page.locator("#health-error")).to_be_visible()


def _invitation_shown(page: Page) -> None:
    page.get_by_label("Email").fill("analyst@example.com")
    page.get_by_role("button", name="Create invitation").click()
    expect(page.locator("#new-invitation")).to_be_visible()


def _key_list(page: Page) -> None:
    expect(page.locator("table.api-keys")).to_be_visible()


def _channel_added(page: Page) -> None:
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks/datadock")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#signing-secret")).to_be_visible()


def _catalog_results(page: Page) -> None:
    expect(page.locator(".catalog-hits mark").first).to_be_visible()


def _not_found(page: Page) -> None:
    expect(page.get_by_role("heading", name="This page does not exist")).to_be_visible()


# The pages, in the order they are visited (a new page is one more line).
VIEWS = [
    View("sources list", "/sources", _sources_ready, keyboard=True),
    View("add form (field error, failed verify)", "/sources/new", _add_form_with_errors, True),
    View("demo source (table open, webhook token)", "/sources/{demo}", _demo_source_opened, True),
    View("failed source (failed sync and check)", "/sources/{failed}", _failed_source_checked),
    View("members (invitation shown)", "/settings/members", _invitation_shown),
    View("audit log", "/audit"),
    View("API keys", "/settings/api-keys", _key_list),
    View("notifications (channel added)", "/settings/notifications", _channel_added),
    View("activity", "/activity"),
    View("catalog search (results)", "/catalog?q=order", _catalog_results, keyboard=True),
    View("404 page", "/no-such-page", _not_found),
]


def _measure(page: Page, found: Found, view: View) -> None:
    """Open every <details>, then measure the page once per tab (once if it has none)."""
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    tabs = page.get_by_role("tab")
    if not tabs.count():
        found.contrast(page, view.name)
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        found.contrast(page, f"{view.name}, tab {tab.inner_text().strip()!r}")
    if view.keyboard:
        assert found.keyboard(page, view.name) > 3, f"{view.name}: Tab reached almost nothing"


def _sqlite_file(data_dir: Path, name: str) -> None:
    """A small SQLite database in the server's data folder."""
    path = data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS invoices (id INTEGER PRIMARY KEY, total REAL)"
        )
    connection.close()


def _create_sources(page: Page, base: str, data_dir: Path) -> dict[str, str]:
    """A healthy paused source and one whose file is gone (failed sync), through the JSON
    API with a key made on the API keys page (the page then shows the new key)."""
    page.goto(base + "/settings/api-keys")
    page.get_by_label("Name", exact=True).fill("contrast test")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value").input_value()
    api = f"{base}/api/public/organizations/1/data-sources"
    auth = {"Authorization": f"Bearer {key}"}
    ids = {}
    for name, file in (("Finance ledger", "finance/ledger.sqlite"), ("Legacy CRM", "crm.sqlite")):
        _sqlite_file(data_dir, file)
        answer = page.request.post(
            api,
            headers=auth,
            data={"type": "direct", "dialect": "SQLITE", "displayName": name, "databaseName": file},
        )
        assert answer.status == 201, answer.text()
        ids[name] = answer.json()["data"]["id"]
    paused = page.request.post(f"{api}/{ids['Finance ledger']}/pause", headers=auth)
    assert paused.ok, paused.text()
    # The first sync of the CRM must be over before its file goes, so the next one fails.
    page.goto(f"{base}/sources/{ids['Legacy CRM']}")
    _section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("SUCCESS")
    (data_dir / "crm.sqlite").unlink()
    synced = page.request.post(f"{api}/{ids['Legacy CRM']}/sync", headers=auth)
    assert synced.status == 202, synced.text()
    page.reload()
    _section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("FAILED")
    return {"failed": ids["Legacy CRM"]}


def test_pages_meet_wcag_aa_contrast_and_show_focus(page: Page, live_server: str, tmp_path):
    expect.set_options(timeout=60_000)  # a loaded machine answers slowly; nothing is timed
    page.set_viewport_size({"width": 1100, "height": 900})
    found = Found()
    page.goto(live_server)
    expect(page.get_by_role("button", name="Create organization")).to_be_visible()
    found.contrast(page, "setup")
    fill_setup(page, demo=True)
    expect(page.get_by_role("heading", name="Demo shop")).to_be_visible()
    ids = {"demo": page.url.rstrip("/").rsplit("/", 1)[-1]}
    ids |= _create_sources(page, live_server, tmp_path / "instance" / "data")

    for view in VIEWS:
        page.goto(live_server + view.path.format(**ids))
        view.ready(page)
        _measure(page, found, view)

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".banner.error, .field-error:not(:empty)").first).to_be_visible()
    found.contrast(page, "login (wrong password)")
    expect.set_options(timeout=None)

    assert all(found.measured.values()), f"pages with no text measured: {found.measured}"
    problems = found.report()
    assert not problems, "WCAG AA contrast failures:\n" + "\n".join(problems)


# A page of known colours (written here, not served by the app): the checker itself must
# find each low contrast and the pale focus ring this file's CSS fix replaced.
KNOWN = """<!doctype html><html><body style="background:#fff">
<p style="color:#999">grey 2.85</p><p style="color:#767676">grey 4.54</p>
<p style="color:#949494;font-size:24px">large 3.03</p>
<p style="color:#949494;font-size:19px">small 3.03</p>
<div style="opacity:.4"><p style="color:#000">faded</p></div>
<div style="background:rgba(0,0,0,.5)"><p style="color:#555">on grey</p></div>
<button disabled style="color:#ccc">inactive</button><input value="typed" style="color:#aaa">
<a href="#x" style="outline-color:#9db4f2">pale ring</a><a href="#y">default ring</a>
<style>a:focus-visible { outline: 3px solid #9db4f2; }
a + a:focus-visible { outline-color: #2f5bd3; }</style>
</body></html>"""


def test_the_checker_finds_low_contrast(page: Page):
    page.set_content(KNOWN)
    found = Found()
    found.contrast(page, "known")
    failing = sorted(line.split("'")[1] for line in found.text)
    assert failing == ["faded", "grey 2.85", "on grey", "small 3.03", "typed"], found.text
    assert found.keyboard(page, "known") == 3  # the input, both links
    assert list(found.focus.values()) == [['a "pale ring"']], found.focus
