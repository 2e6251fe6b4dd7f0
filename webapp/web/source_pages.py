"""Pages for data sources: list, add, verify, edit, delete, and the sync panel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import sources as uc
from ..dialects import DIALECTS, all_secret_names, get_dialect
from ..source_fields import source_field_values
from ..sources.projects import project_names
from ..sources.queries import HEALTH_FILTERS, SORTS, SYNC_FILTERS, ListFilter, browse_sources
from . import bp
from .access import current_org, editor_required, is_admin, viewer_required
from .forms import apply_errors, form_values, saved_secret_help, source_form
from .source_view import detail_page, schema_panel, source_or_404, sync_companions
from .times import relative_time

if TYPE_CHECKING:
    from ..models import Source


@bp.route("/")
def index() -> Response:
    """Home is the sources list."""
    return redirect(url_for("web.sources"))


@bp.route("/sources")
@viewer_required
def sources() -> str:
    """The organization's sources, 50 a page: searched by name, filtered by dialect, health
    and sync status, sorted (a plain GET form; htmx swaps only the results)."""
    wanted = ListFilter.read(request.args)
    listing = browse_sources(current_org(), wanted)
    context = {
        "listing": listing,
        "wanted": wanted,
        "dialects": DIALECTS,
        "sorts": {k: label for k, (label, _) in SORTS.items()},
        "health_filters": HEALTH_FILTERS,
        "sync_filters": SYNC_FILTERS,
        "ago": relative_time(uc.utcnow()),
        "page_url": _page_url(wanted),
        "projects": project_names(current_org()),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "sources-results":
        return render_template("sources/_results.html", **context)
    return render_template(
        "sources/list.html", sources=listing.rows, is_admin=is_admin(), **context
    )


def _page_url(wanted: ListFilter) -> Any:
    """The list's URL for page `n` with the same search, filters and sort."""
    params = {
        "q": wanted.search,
        "dialect": wanted.dialect,
        "health": wanted.health,
        "sync": wanted.sync,
        "sort": "" if wanted.sort == "name" else wanted.sort,
        "project": wanted.project,
    }
    kept: dict[str, Any] = {k: v for k, v in params.items() if v}
    return lambda n: url_for("web.sources", **kept, **({"page": n} if n > 1 else {}))


def _form_page(form: Any, source: Source | None, status: int = 200, **result: Any) -> Any:
    return render_template(
        "sources/form.html",
        form=form,
        source=source,
        secret_names=all_secret_names(),
        dialect=get_dialect(form.dialect.data),
        **result,
    ), status


def _result(
    form: Any,
    *,
    ok: Any = None,
    error: uc.Refusal | None = None,
    source: Source | None = None,
    status: int = 200,
) -> Any:
    """The verify/save outcome: an htmx partial (banner + errors out of band) or a whole page.

    No free verify slot (VerifyBusy) is 429 with Retry-After for a whole page; htmx gets the
    partial (htmx swaps only 2xx), also with Retry-After. The form keeps what was typed."""
    field_errors = error.field_errors if error is not None else {}
    busy = error.headers() if isinstance(error, uc.VerifyBusy) else {}
    if request.headers.get("HX-Request"):
        # Every field's error slot is swapped, so errors of an earlier try are cleared.
        return (
            render_template(
                "partials/verify_result.html",
                source=source,
                ok=ok,
                error=error,
                field_errors=field_errors,
                oob_names=[*form.common_names, "dialect", "connectionString", *form.spec_names],
                oob_help=saved_secret_help(form, field_errors),
            ),
            200,
            busy,
        )
    apply_errors(form, field_errors)
    page, status = _form_page(form, source, 429 if busy else status, ok=ok, error=error)
    return page, status, busy


def _dialect_from_request(default: str) -> Any:
    dialect = get_dialect(request.values.get("dialect") or default)
    return dialect or next(iter(DIALECTS.values()))


def _switched_dialect(dialect: Any, source: Source | None) -> Any:
    """Without JavaScript, choosing another dialect posts the whole form: answer with the new
    dialect's fields (typed values they share kept, never secrets) and neither verify nor save.

    `fieldsetDialect` (in the fieldset) says which dialect's fields were shown; the noscript
    "Show fields" button sends `changeDialect`. Returns None when neither applies. (CSRFProtect
    has already checked the POST's token.)
    """
    shown = request.form.get("fieldsetDialect")
    if request.headers.get("HX-Request"):
        if not shown or shown == dialect.key:
            return None  # htmx swapped the fieldset in place already
        # The select says one dialect, the fields are another's (a switch htmx missed): show
        # the chosen dialect's fields instead of verifying or saving the wrong ones.
        typed = _carried_over(dialect, request.form.items(), dialect_fields_only=True)
        form = source_form(dialect, formdata=None, data=typed or None)
        page = render_template(
            "partials/dialect_fields.html", form=form, dialect=dialect, string_oob=True
        )
        return page, 200, {"HX-Retarget": "#dialect-fields", "HX-Reswap": "outerHTML"}
    if not request.form.get("changeDialect") and (not shown or shown == dialect.key):
        return None
    keep = _carried_over(dialect, request.form.items(), dialect_fields_only=False)
    form = source_form(
        dialect, formdata=None, data=keep, saved_secrets=uc.saved_secret_names(source)
    )
    return _form_page(form, source)


@bp.route("/sources/new", methods=["GET", "POST"])
@editor_required
def new_source() -> Any:
    """The add form; a POST verifies and saves (plain or via htmx)."""
    dialect = _dialect_from_request("POSTGRES")
    if request.method == "GET":
        form = source_form(dialect, formdata=None)
        return _form_page(form, None)
    switched = _switched_dialect(dialect, None)
    if switched is not None:
        return switched
    form = source_form(dialect)
    if not form.validate_on_submit():
        abort(400)
    try:
        source = uc.create_source(current_org(), form_values(form))
    except uc.Refusal as exc:
        return _result(form, error=exc, status=422)
    return _saved(source, "Saved. The first schema sync has started.")


def _saved(source: Source, message: str, category: str = "sync") -> Response:
    # A "sync" message goes once the source page sees the sync end (and opens its Schema tab).
    flash(message, category)
    return _go(url_for("web.source_detail", source_id=source.id))


def _go(target: str) -> Response:
    """Redirect, the htmx way when htmx asked."""
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.route("/sources/verify", methods=["POST"])
@bp.route("/sources/<int:source_id>/verify", methods=["POST"])
@editor_required
def verify_source(source_id: int | None = None) -> Any:
    """Verify the form's values; stores nothing. Returns the result partial."""
    source = source_or_404(source_id) if source_id is not None else None
    dialect = _dialect_from_request(source.dialect if source else "POSTGRES")
    switched = _switched_dialect(dialect, source)
    if switched is not None:
        return switched
    form = source_form(dialect, saved_secrets=uc.saved_secret_names(source))
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("retryWithoutSsl") and "sslEnabled" in form:
        form.sslEnabled.data = False  # "Retry without SSL" under a "does not support SSL"
    try:
        result = uc.verify_input(form_values(form), existing=source, org=current_org())
    except uc.Refusal as exc:
        return _result(form, error=exc, source=source, status=422)
    return _result(form, ok=result, source=source)


@bp.route("/sources/fieldset")
@editor_required
def dialect_fieldset() -> str:
    """The chosen dialect's fields, keeping values typed in fields it shares (never secrets)."""
    dialect = _dialect_from_request("POSTGRES")
    typed = _carried_over(dialect, request.args.items(), dialect_fields_only=True)
    form = source_form(dialect, formdata=None, data=typed or None)
    return render_template(
        "partials/dialect_fields.html", form=form, dialect=dialect, string_oob=True
    )


# Form inputs that never carry over to another dialect's form.
_NOT_CARRIED = {"csrf_token", "connectionString", "changeDialect", "fieldsetDialect"}


def _carried_over(dialect: Any, items: Any, *, dialect_fields_only: bool) -> dict[str, Any]:
    """What was typed before a dialect switch that `dialect`'s form keeps: never a secret or
    the connection string, and not a value that is only another dialect's default."""
    secret = set(all_secret_names())
    items = list(items)
    shown = get_dialect(dict(items).get("fieldsetDialect") or "")
    kept = {}
    for name, value in items:
        spec = dialect.field(name)
        if name in secret or name in _NOT_CARRIED or (spec is None and dialect_fields_only):
            continue
        if spec is not None and not _same_meaning(spec, shown.field(name) if shown else spec):
            continue  # MySQL's database name is not SQLite's database file
        if spec is None or not _another_default(dialect, name, value):
            kept[name] = value
    return kept


def _same_meaning(spec: Any, before: Any) -> bool:
    """Whether a field of the dialect chosen means what the same-named one shown did."""
    return before is None or (before.label == spec.label and before.kind == spec.kind)


def _another_default(dialect: Any, name: str, value: str) -> bool:
    """Whether `value` is only another dialect's default (PostgreSQL's port 5432 left as it
    was): then the chosen dialect's own default shows instead."""
    own = dialect.field(name).default
    return value != str(own) and any(
        value == str(spec.default)
        for other in DIALECTS.values()
        if other is not dialect
        and (spec := other.field(name)) is not None
        and spec.default not in (None, "")
    )


@bp.route("/sources/connection-string", methods=["POST"])
@editor_required
def parse_connection_string() -> Any:
    """Fill the fieldset from a pasted connection string (secrets stay out of the page).

    An emptied string answers 204, so htmx leaves the fields as the user typed them.
    """
    if not request.form.get("connectionString", "").strip():
        return "", 204
    try:
        data = uc.expand_connection_string(
            {
                "dialect": request.form.get("dialect"),
                "connectionString": request.form.get("connectionString", ""),
            }
        )
        error = ""
    except uc.ValidationFailed as exc:
        data, error = {"dialect": request.form.get("dialect")}, exc.field_errors["connectionString"]
    dialect = (
        _dialect_from_request("POSTGRES")
        if error
        else get_dialect(data["dialect"]) or _dialect_from_request("POSTGRES")
    )
    public = {k: v for k, v in data.items() if k not in all_secret_names()}
    form = source_form(dialect, formdata=None, data=public)
    page = render_template(
        "partials/connection_string.html",
        form=form,
        dialect=dialect,
        error=error,
        has_password="password" in data,
        secret_names=all_secret_names(),
    )
    # A string that cannot be read changes only its own message: the typed fields stay.
    return page, 200, {"HX-Reswap": "none"} if error else {}


@bp.route("/sources/<int:source_id>")
@viewer_required
def source_detail(source_id: int) -> str:
    """A source's fields, sync state and schema, sync history, health and webhook."""
    return detail_page(source_or_404(source_id))


@bp.route("/sources/<int:source_id>/sync-panel")
@viewer_required
def sync_panel(source_id: int) -> str:
    """The sync status and schema; polls itself while the sync is PENDING. Its own poll also
    brings the sync history and the overview's sync line out of band, from the same reads,
    so the page's sections never disagree on the sync's state."""
    source = source_or_404(source_id)
    panel = render_template(
        "partials/sync_panel.html", source=source, is_admin=is_admin(), **schema_panel(source)
    )
    if request.headers.get("HX-Trigger") == "sync-panel":  # the poll, not a table search
        panel += sync_companions(source)
    return panel


@bp.route("/sources/<int:source_id>/edit", methods=["GET", "POST"])
@editor_required
def edit_source(source_id: int) -> Any:
    """Edit: secrets show as saved, blank keeps them (unless host, port or database moved)."""
    source = source_or_404(source_id)
    saved = uc.saved_secret_names(source)
    if request.method == "GET":
        dialect = get_dialect(source.dialect)
        if dialect is None:  # stored under a dialect this server no longer registers
            abort(
                409,
                description=f"This source's dialect {source.dialect} is not available "
                "on this Datadock server, so its settings cannot be edited here.",
            )
        data = {**source_field_values(source), **uc.public_values(source)}
        return _form_page(
            source_form(dialect, formdata=None, data=data, saved_secrets=saved), source
        )
    dialect = _dialect_from_request(source.dialect)
    switched = _switched_dialect(dialect, source)
    if switched is not None:
        return switched
    form = source_form(dialect, saved_secrets=saved)
    if not form.validate_on_submit():
        abort(400)
    try:
        uc.update_source(source, form_values(form))
    except uc.Refusal as exc:
        return _result(form, error=exc, source=source, status=422)
    if source.last_sync_status != "PENDING":  # only the name, description or schedule
        return _saved(
            source, "Saved. The connection is unchanged, so no sync was needed.", "message"
        )
    return _saved(source, "Saved. The schema is being synced again.")


@bp.route("/sources/<int:source_id>/sync", methods=["POST"])
@editor_required
def sync_now(source_id: int) -> Response:
    """Queue a schema sync now."""
    source = source_or_404(source_id)
    uc.request_sync(source)
    flash("Schema sync started.", "sync")
    return redirect(url_for("web.source_detail", source_id=source.id))


@bp.route("/sources/<int:source_id>/delete", methods=["GET", "POST"])
@editor_required
def delete_source(source_id: int) -> Any:
    """Delete the source with its secrets, snapshots, sync history and health checks.

    With JavaScript the page asks with hx-confirm and posts; without, the Delete button GETs
    this confirmation page, whose form posts.
    """
    source = source_or_404(source_id)
    if request.method == "GET":
        return render_template("sources/delete.html", source=source)
    name = source.display_name
    uc.delete_source(source)
    flash(f"Deleted {name}.")
    return _go(url_for("web.sources"))
