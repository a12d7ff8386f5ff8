"""内容库 editing: write a new article or case, or edit one written here, with a live preview that looks like
WeChat and shows where the text will be split; problems are shown next to their field. Registered before the
content pages so /content/new is not taken for a slug."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import TemplateError

from cases.library import load_case
from content.drafts import CASE_BODY_TEMPLATE, Draft, check_draft, is_console_item, save_item
from content.keydates import load_key_dates
from content.store import get_item
from core.categories import CATEGORIES
from core.clock import Clock
from core.settings import Settings
from core.text import MAX_MESSAGE_CHARS
from pufa.app import Database
from pufa.qa_wiring import template_globals
from pufa.web import accounts
from pufa.web.accounts import StaffUser
from scheduler.calendar import custom_rows, merged_registry
from scheduler.rendering import ContentRenderer


def register(app: FastAPI, *, render: Any, settings: Settings, db: Database, clock: Clock, staff: Any,
             form_staff: Any, editor: Any) -> None:
    tz = settings.tz
    Staff = Annotated[StaffUser, Depends(staff)]
    FormStaff = Annotated[StaffUser, Depends(form_staff)]
    Editor = Annotated[StaffUser, Depends(editor)]
    renderer = ContentRenderer(template_globals(settings))

    def key_dates() -> list[tuple[str, str]]:
        with db.sessions() as session:
            registry = merged_registry(load_key_dates(), custom_rows(session))
        return [(kd.id, kd.name) for kd in registry]

    def draft_of(kind: str, slug: str, title: str, summary: str, explainer: str, laws: str, tags: str,
                 key_date: list[str], reviewed: str, body: str) -> Draft:
        return Draft(kind="case" if kind == "case" else "article", slug=slug, title=title, summary=summary,
                     explainer=explainer, laws=laws, tags=tags, key_dates=key_date, reviewed=reviewed, body=body)

    def loader(draft: Draft) -> Any:
        if draft.kind == "case":
            return lambda path, known: load_case(path, known, CATEGORIES)
        return None

    def preview(draft: Draft) -> tuple[list[str], str]:
        """The messages as they would be sent, or a Chinese reason why the text cannot be rendered yet."""
        try:
            return renderer.render(draft.kind, draft.title.strip() or "（标题）", draft.preview_data()), ""
        except TemplateError as exc:
            return [], f"正文模板错误：{exc.message or type(exc).__name__}"

    def form_page(request: Request, user: StaffUser, draft: Draft, *, editing: bool,
                  errors: dict[str, list[str]] | None = None, status_code: int = 200) -> Response:
        parts, render_error = preview(draft)
        errors = dict(errors or {})
        if render_error and not errors.get("body"):
            errors["body"] = [render_error]
        return render(request, "content_form.html", user, status_code=status_code, draft=draft, editing=editing,
                      errors=errors, parts=parts, limit=MAX_MESSAGE_CHARS, key_dates=key_dates())

    def check_and_render(draft: Draft) -> tuple[Any, dict[str, list[str]]]:
        known = {key for key, _name in key_dates()}
        article, errors = check_draft(draft, known, loader(draft))
        if article is not None:
            _parts, render_error = preview(draft)
            if render_error:
                return None, {"body": [render_error]}
        return article, errors

    def save(request: Request, user: StaffUser, draft: Draft, *, editing: str | None) -> Response:
        """Check, store and audit a new item (`editing` None) or the console item `editing`; the form again on errors."""
        article, errors = check_and_render(draft)
        if article is None:
            return form_page(request, user, draft, editing=editing is not None, errors=errors, status_code=400)
        now = clock.now()
        with db.sessions.begin() as session:
            existing = get_item(session, editing) if editing is not None else None
            save_item(session, article, now, existing=existing)
            accounts.record_audit(session, actor=user.name, action="content.edit" if editing is not None else "content.add",
                                  now=now, target=article.slug, detail=article.title)
        return RedirectResponse(f"/content/{article.slug}?msg=saved", status_code=303)

    @app.get("/content/new", response_class=HTMLResponse)
    def content_new(request: Request, user: Staff, kind: str = "article") -> Response:
        today = clock.now().astimezone(tz).date().isoformat()
        draft = Draft(kind="case", reviewed=today, body=CASE_BODY_TEMPLATE) if kind == "case" else Draft(reviewed=today)
        return form_page(request, user, draft, editing=False)

    @app.post("/content/new")
    def content_create(request: Request, user: Editor, kind: Annotated[str, Form()] = "article",
                       explainer: Annotated[str, Form()] = "", slug: Annotated[str, Form()] = "",
                       title: Annotated[str, Form()] = "", summary: Annotated[str, Form()] = "",
                       laws: Annotated[str, Form()] = "", tags: Annotated[str, Form()] = "",
                       key_date: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
                       reviewed: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "") -> Response:
        draft = draft_of(kind, slug, title, summary, explainer, laws, tags, key_date, reviewed, body)
        return save(request, user, draft, editing=None)

    @app.get("/content/{slug}/edit", response_class=HTMLResponse)
    def content_edit(request: Request, user: Staff, slug: str) -> Response:
        with db.sessions() as session:
            item = get_item(session, slug)
            if not is_console_item(item):
                return render(request, "error.html", user, status_code=400,
                              error="这篇来自内容库文件，请修改文件后运行 pufa content import（控制台里只能改在控制台写的内容）")
            draft = Draft.from_item(item)
        return form_page(request, user, draft, editing=True)

    @app.post("/content/{slug}/edit")
    def content_update(request: Request, user: Editor, slug: str, kind: Annotated[str, Form()] = "article",
                       explainer: Annotated[str, Form()] = "",
                       title: Annotated[str, Form()] = "", summary: Annotated[str, Form()] = "",
                       laws: Annotated[str, Form()] = "", tags: Annotated[str, Form()] = "",
                       key_date: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
                       reviewed: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "") -> Response:
        draft = draft_of(kind, slug, title, summary, explainer, laws, tags, key_date, reviewed, body)
        return save(request, user, draft, editing=slug)

    @app.post("/content/preview")
    def content_preview_live(_user: FormStaff, kind: Annotated[str, Form()] = "article",
                             explainer: Annotated[str, Form()] = "", slug: Annotated[str, Form()] = "",
                             title: Annotated[str, Form()] = "", summary: Annotated[str, Form()] = "",
                             laws: Annotated[str, Form()] = "", tags: Annotated[str, Form()] = "",
                             key_date: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
                             reviewed: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "") -> Response:
        """The live preview: messages and problems as JSON; the page puts them in with textContent."""
        draft = draft_of(kind, slug, title, summary, explainer, laws, tags, key_date, reviewed, body)
        parts, render_error = preview(draft)
        _item, errors = check_draft(draft, {key for key, _name in key_dates()}, loader(draft))
        if render_error:
            errors["body"] = [render_error]
        return JSONResponse({"parts": parts, "lengths": [len(p) for p in parts], "errors": errors},
                            headers={"Cache-Control": "no-store"})
