"""The HTML sources list with 10,000 sources (issue 11): server time and size of the first
page, a name search, a filter, a late page and htmx's partial, against the whole list rendered
in one page (what the page did before it was paged), measured in the same run on the SQLite
store, in interleaved rounds.

Run with `make bench`. Asserts only what each page shows, never how fast it is.
"""

from __future__ import annotations

import time

from flask import render_template_string

from tests.bench.figures import Figure
from webapp import sources as uc
from webapp.dialects import DIALECTS
from webapp.extensions import db
from webapp.models import Organization, Source

SOURCES, ROUNDS = 10_000, 7
GOAL = 0.100  # seconds of server time

# The list as it was: every source in one table.
WHOLE_LIST = """<table class="grid"><tbody>{% for s in sources %}<tr>
<td><a href="{{ url_for('web.source_detail', source_id=s.id) }}">{{ s.display_name }}</a></td>
<td>{{ dialects[s.dialect].label if s.dialect in dialects else s.dialect }}</td>
<td>{{ s.host or '—' }}{% if s.port %}:{{ s.port }}{% endif %}</td>
<td class="health" title="{{ 'Last checked ' ~ s.last_health_check_attempt_at.strftime(
'%Y-%m-%d %H:%M UTC') if s.last_health_check_attempt_at else 'Not checked yet' }}">
<span class="dot dot-{{ (s.last_health_status or 'unknown')|lower }}"></span> {{ {
'HEALTHY': 'Healthy', 'UNHEALTHY': 'Unhealthy'}.get(s.last_health_status, 'Not checked') }}</td>
<td><span class="status status-{{ s.last_sync_status|lower }}">{{ s.last_sync_status }}</span></td>
<td>{{ s.last_sync_attempt_at.strftime('%Y-%m-%d %H:%M UTC') if s.last_sync_attempt_at
else 'never' }}</td>
</tr>{% endfor %}</tbody></table>"""


def _add_sources(app) -> None:
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        now = uc.utcnow()
        db.session.add_all(
            Source(
                organization_id=org.id,
                display_name=f"Warehouse {i:05d}",
                dialect=("POSTGRES", "MYSQL", "SNOWFLAKE")[i % 3],
                host=f"db{i}.example.com",
                port=5432,
                database_name="app",
                username="reader",
                settings={},
                last_health_status=("HEALTHY", "UNHEALTHY", None)[i % 3],
                last_sync_status=("SUCCESS", "FAILED", "NEVER_SYNCED")[i % 3],
                last_sync_attempt_at=now if i % 3 != 2 else None,
            )
            for i in range(SOURCES)
        )
        db.session.commit()


def test_bench_sources_list(app, admin, figures):
    _add_sources(app)

    def whole() -> bytes:
        with app.test_request_context():
            org = db.session.scalar(db.select(Organization))
            return render_template_string(
                WHOLE_LIST, sources=uc.list_sources(org), dialects=DIALECTS
            ).encode()

    pages = {
        "first page": ("/sources", {}),
        "name search": ("/sources?q=warehouse+0999", {}),
        "filter + sort": ("/sources?health=UNHEALTHY&dialect=MYSQL&sort=recent", {}),
        "page 150": ("/sources?page=150", {}),
        "htmx partial": (
            "/sources?q=ware&sort=newest",
            {"HX-Request": "true", "HX-Target": "sources-results"},
        ),
    }
    took: dict[str, list[float]] = {name: [] for name in [*pages, "whole list"]}
    sizes: dict[str, int] = {}
    for _ in range(ROUNDS):
        started = time.perf_counter()
        sizes["whole list"] = len(whole())
        took["whole list"].append(time.perf_counter() - started)
        for name, (path, headers) in pages.items():
            started = time.perf_counter()
            response = admin.get(path, headers=headers)
            took[name].append(time.perf_counter() - started)
            assert response.status_code == 200
            sizes[name] = len(response.data)
    assert sizes["whole list"] > 1_000_000
    base = min(took["whole list"])
    print(
        f"\nsources list, {SOURCES} sources (SQLite store), min of {ROUNDS} interleaved "
        f"rounds; the whole list in one page: {base * 1000:.0f} ms, "
        f"{sizes['whole list'] / 1e6:.1f} MB"
    )
    for name in pages:
        best = min(took[name])
        print(f"  {name}: {best * 1000:.1f} ms, {sizes[name] / 1000:.0f} kB")
        figures.append(
            Figure(
                f"sources list 10k, {name} (server time)",
                best,
                base,
                "whole list, one page",
                "< 100 ms, paginated",
                best < GOAL,
            )
        )
    figures.append(
        Figure(
            "sources list 10k, first page size",
            sizes["first page"] / 1000,
            None,
            f"whole list {sizes['whole list'] / 1e6:.1f} MB",
            "paginated",
            sizes["first page"] < 200_000,
            unit="kB",
        )
    )
