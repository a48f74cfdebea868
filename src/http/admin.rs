//! The team console (`/admin`): pages for a browser signed in as an admin. Anyone else gets a
//! 403 page (a browser with no session is sent to sign in first); a bearer token, whatever it
//! holds, never gets in. Every form is CSRF-checked, and every action is the domain call its
//! command-line counterpart makes (`domain::admin`).

use rouille::Response;
use serde_json::json;

use super::Ctx;
use super::account::{for_the_form, why};
use super::multipart;
use super::pages::{Csrf, browser, checked_form, checked_form_with, query, see_other};
use crate::core::Core;
use crate::core::urlenc::encode;
use crate::domain::admin::actions::{self, Action};
use crate::domain::admin::import::{self, Started};
use crate::domain::admin::records::{self, AuditQuery};
use crate::domain::admin::roster::{self, state_named};
use crate::domain::admin::{self, Admin};
use crate::domain::error::{ApiError, PageError};
use crate::http::html::{self, CSRF_COOKIE, admin as view};
use crate::http::openapi::{Op, obj, page};

/// The admin behind the request, or what to answer anyone else: a GET from a browser that is
/// not signed in goes to the sign-in page and comes back; everyone else gets 403.
fn admin(core: &Core, ctx: &Ctx<'_>) -> Result<Result<Admin, Response>, ApiError> {
    match browser(core, ctx)? {
        Some(b) => Ok(Ok(admin::admit(core, b)?)),
        None if ctx.bearer().is_none() && ctx.req.method() == "GET" => Ok(Err(see_other(format!(
            "/login?return_to={}",
            encode(ctx.req.raw_url())
        )))),
        None => Err(not_signed_in()),
    }
}

/// The admin behind a form's POST: anyone else gets 403 (no redirect: a form is not resent).
fn admin_posting(core: &Core, ctx: &Ctx<'_>) -> Result<Admin, ApiError> {
    match admin(core, ctx)? {
        Ok(a) => Ok(a),
        Err(_) => Err(not_signed_in()),
    }
}

fn not_signed_in() -> ApiError {
    PageError::Forbidden {
        code: "admin_required",
        message: "The team console takes the browser session of a signed-in admin. A bearer \
                  token (a personal access token or an OAuth app's) never reaches it."
            .into(),
    }
    .into()
}

/// `GET /admin?state=` → the team.
pub fn get_team(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let admin = match admin(core, ctx)? {
        Ok(a) => a,
        Err(redirect) => return Ok(redirect),
    };
    let params = query(ctx)?;
    let extras = view::TeamExtras {
        me: admin.handle(),
        ..view::TeamExtras::default()
    };
    team_page(core, ctx, params.get("state"), 200, &extras)
}

/// The team, only those in the onboarding state named `state` (if any); 400 for a name that
/// is no state.
fn team_page(
    core: &Core,
    ctx: &Ctx<'_>,
    state: Option<&str>,
    status: u16,
    extras: &view::TeamExtras<'_>,
) -> Result<Response, ApiError> {
    let filter = match state.filter(|s| !s.is_empty()) {
        Some(name) => Some(state_named(name).ok_or_else(|| {
            PageError::BadRequest(format!(
                "no onboarding state {name:?}: invited, delivery_failed, code_expired, confirmed or disabled"
            ))
        })?),
        None => None,
    };
    let members = roster::team(core, filter, ctx.now)?;
    let csrf = Csrf::of(ctx)?;
    let body = view::team(&members, filter, &csrf.token(core), ctx.now, extras);
    Ok(csrf.page(core, status, body))
}

/// `POST /admin/team` → the team again, with what the action did to each account. A row's own
/// button (`row=ACTION:HANDLE`) acts on that row; the bulk button on every checked `handle`.
pub fn post_team_action(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let admin = admin_posting(core, ctx)?;
    let form = checked_form_with(core, ctx, &["handle"])?;
    let (action, value, handles, bulk) = match form.get("row") {
        Some(row) => {
            let (action, handle) = row.split_once(':').unwrap_or((row, ""));
            let (action, value) = action.split_once('=').unwrap_or((action, ""));
            let value = if action == "set_groups" {
                form.get(&format!("groups:{handle}")).unwrap_or("")
            } else {
                value
            };
            (action, value, vec![handle.to_owned()], false)
        }
        None => (
            form.get("action").unwrap_or(""),
            form.get("value").unwrap_or(""),
            form.all("handle").into_iter().map(str::to_owned).collect(),
            true,
        ),
    };
    let outcome = Action::parse(action, value.trim()).and_then(|action| {
        actions::apply(
            core,
            &admin,
            &action,
            &handles,
            bulk,
            &ctx.caller(),
            ctx.now,
        )
    });
    let state = form.get("state");
    match outcome {
        Ok(done) => {
            let extras = view::TeamExtras {
                me: admin.handle(),
                done: Some(&done),
                error: None,
            };
            team_page(core, ctx, state, 200, &extras)
        }
        Err(e) if for_the_form(&e) => {
            let message = why(&e, ctx);
            let extras = view::TeamExtras {
                me: admin.handle(),
                done: None,
                error: Some(&message),
            };
            team_page(core, ctx, state, e.status(), &extras)
        }
        Err(e) => Err(e),
    }
}

/// `GET /admin/import` → the upload form.
pub fn get_import(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    if let Err(redirect) = admin(core, ctx)? {
        return Ok(redirect);
    }
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(core, 200, view::import_form(&csrf.token(core), None)))
}

/// `POST /admin/import` (multipart: `csrf_token`, `file`) → the preview of every row.
pub fn post_import_preview(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let admin = admin_posting(core, ctx)?;
    let content_type = ctx.req.header("Content-Type").unwrap_or("");
    let parts = multipart::parse(content_type, &ctx.body).map_err(PageError::BadRequest)?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let token = field("csrf_token").and_then(|p| std::str::from_utf8(p.data).ok());
    if !html::csrf_ok(
        core,
        html::cookie(ctx.req.header("Cookie"), CSRF_COOKIE),
        token,
    ) {
        return Err(PageError::Csrf.into());
    }
    let file = field("file").ok_or_else(|| PageError::BadRequest("choose a CSV file".into()))?;
    let name = file.file_name.as_deref().unwrap_or("upload.csv");
    let csrf = Csrf::of(ctx)?;
    match import::preview(core, &admin, name, file.data, ctx.now) {
        Ok(p) => Ok(csrf.page(core, 200, view::preview(&p, &csrf.token(core)))),
        Err(e) if for_the_form(&e) => Ok(csrf.page(
            core,
            e.status(),
            view::import_form(&csrf.token(core), Some(&why(&e, ctx))),
        )),
        Err(e) => Err(e),
    }
}

/// `POST /admin/import/{id}/apply` → 303 to the upload's progress page; the rows are written
/// off the request. A second apply starts nothing.
pub fn post_import_apply(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let admin = admin_posting(core, ctx)?;
    checked_form(core, ctx)?;
    let id = ctx.param(0);
    let next = format!("/admin/import/{}", encode(id));
    match import::start(core, &admin, id, &ctx.caller(), ctx.now)? {
        Started::Job(job) => {
            std::thread::Builder::new()
                .name("import".into())
                .spawn(move || job.run())
                .map_err(|e| ApiError::Internal(format!("no thread for the import: {e}")))?;
            Ok(see_other(next))
        }
        Started::Already => Ok(see_other(format!("{next}?already=1"))),
    }
}

/// `GET /admin/import/{id}` → its progress, reloading while it runs, then its outcome.
pub fn get_import_status(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    if let Err(redirect) = admin(core, ctx)? {
        return Ok(redirect);
    }
    let row = import::status(core, ctx.param(0))?.ok_or(ApiError::NotFound)?;
    let notice = query(ctx)?
        .get("already")
        .map(|_| "This file was already being applied, or is applied: nothing was started twice.");
    Ok(html::html(200, view::import_status(&row, notice)))
}

/// `GET /admin/clients`.
pub fn get_clients(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    if let Err(redirect) = admin(core, ctx)? {
        return Ok(redirect);
    }
    clients_page(core, ctx, None)
}

fn clients_page(core: &Core, ctx: &Ctx<'_>, notice: Option<&str>) -> Result<Response, ApiError> {
    let rows = records::clients(core)?;
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(core, 200, view::clients(&rows, &csrf.token(core), notice)))
}

/// `POST /admin/clients/remove` (`client_id`) → the list, without it.
pub fn post_client_remove(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let admin = admin_posting(core, ctx)?;
    let form = checked_form(core, ctx)?;
    let id = form.get("client_id").unwrap_or("");
    records::remove_client(core, &admin, id, &ctx.caller(), ctx.now)?;
    clients_page(
        core,
        ctx,
        Some(&format!("Removed {id}: its grants and sessions are gone.")),
    )
}

/// `GET /admin/reports`.
pub fn get_reports(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    if let Err(redirect) = admin(core, ctx)? {
        return Ok(redirect);
    }
    Ok(html::html(
        200,
        view::reports(&records::reports(core, 200)?),
    ))
}

/// `GET /admin/reports/{id}` → the report, its request record and that request's audit rows.
pub fn get_report(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    if let Err(redirect) = admin(core, ctx)? {
        return Ok(redirect);
    }
    let (report, rows) = records::report(core, ctx.param(0))?;
    Ok(html::html(200, view::report(&report, &rows)))
}

/// `GET /admin/audit?since=&user=&event=&request_id=`.
pub fn get_audit(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    if let Err(redirect) = admin(core, ctx)? {
        return Ok(redirect);
    }
    let params = query(ctx)?;
    let q = AuditQuery {
        since: params.get("since").unwrap_or(""),
        user: params.get("user").unwrap_or(""),
        event: params.get("event").unwrap_or(""),
        request_id: params.get("request_id").unwrap_or(""),
    };
    match records::audit_rows(core, &q, ctx.now) {
        Ok(rows) => Ok(html::html(200, view::audit(&rows, &q, None))),
        Err(e) if for_the_form(&e) => Ok(html::html(
            e.status(),
            view::audit(&[], &q, Some(&why(&e, ctx))),
        )),
        Err(e) => Err(e),
    }
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    let mut ops = vec![
        page(
            "get",
            "/admin",
            "The team console: the team with its onboarding states (?state=); admins only",
            200,
        ),
        page(
            "post",
            "/admin/team",
            "An action on a row (row=ACTION:HANDLE) or on every checked handle (action, value)",
            200,
        ),
        page("get", "/admin/import", "The CSV upload form", 200),
        Op {
            request: Some(obj(
                &["csrf_token", "file"],
                json!({"csrf_token": {"type": "string"}, "file": {"type": "string", "contentMediaType": "text/csv"}}),
            )),
            ..page(
                "post",
                "/admin/import",
                "Upload a CSV (multipart/form-data: csrf_token, file; up to 100,000 rows, 16 MiB) and see every row's outcome",
                200,
            )
        },
        page(
            "get",
            "/admin/import/{id}",
            "An upload's progress (reloads while it applies) or outcome",
            200,
        ),
        page(
            "post",
            "/admin/import/{id}/apply",
            "Apply a previewed upload; 303 to its progress",
            303,
        ),
        page("get", "/admin/clients", "The OAuth clients", 200),
        page(
            "post",
            "/admin/clients/remove",
            "Remove an OAuth client (client_id)",
            200,
        ),
        page(
            "get",
            "/admin/reports",
            "The support reports, newest first",
            200,
        ),
        page(
            "get",
            "/admin/reports/{id}",
            "A report with its request record and audit rows",
            200,
        ),
        page(
            "get",
            "/admin/audit",
            "The audit log (?since=&user=&event=&request_id=)",
            200,
        ),
    ];
    for op in &mut ops {
        op.tag = "admin";
    }
    ops
}
