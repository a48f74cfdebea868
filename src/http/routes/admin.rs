//! The team console's routes (`/admin`): pages for a signed-in admin, every form a CSRF-checked
//! POST. The import takes the one large body the server reads.

use super::{IMPORT_BODY_LIMIT, PAGE, Route, page_write};
use crate::http::admin;

pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/admin",
        handler: admin::get_team,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/admin/team",
        handler: admin::post_team_action,
        policy: page_write(None),
    },
    Route {
        method: "GET",
        path: "/admin/import",
        handler: admin::get_import,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/admin/import",
        handler: admin::post_import_preview,
        policy: super::Policy {
            body_limit: IMPORT_BODY_LIMIT,
            ..page_write(None)
        },
    },
    Route {
        method: "GET",
        path: "/admin/import/{id}",
        handler: admin::get_import_status,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/admin/import/{id}/apply",
        handler: admin::post_import_apply,
        policy: page_write(None),
    },
    Route {
        method: "GET",
        path: "/admin/clients",
        handler: admin::get_clients,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/admin/clients/remove",
        handler: admin::post_client_remove,
        policy: page_write(None),
    },
    Route {
        method: "GET",
        path: "/admin/reports",
        handler: admin::get_reports,
        policy: PAGE,
    },
    Route {
        method: "GET",
        path: "/admin/reports/{id}",
        handler: admin::get_report,
        policy: PAGE,
    },
    Route {
        method: "GET",
        path: "/admin/audit",
        handler: admin::get_audit,
        policy: PAGE,
    },
];
