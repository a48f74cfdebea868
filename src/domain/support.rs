//! Support reports (`POST /v2/support/report`): what a user says went wrong, with the server's
//! own record of the request it names attached, so support sees what the server saw. Reachable
//! without a valid credential, since a locked-out user must be able to report.

use serde::Serialize;

use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::domain::auth::fresh_id;
use crate::domain::error::ApiError;
use crate::store::reports::{self, ReportRow};

const MAX_SUMMARY_CHARS: usize = 200;
const MAX_DETAILS_CHARS: usize = 10_000;
const MAX_REFERENCE_CHARS: usize = 200;
const MAX_ARTIFACT_BYTES: usize = 64 * 1024;

/// A report as sent.
pub struct NewReport<'a> {
    pub summary: &'a str,
    pub details: &'a str,
    pub handle: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub repro_artifact: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    pub report_id: String,
    pub received_at: String,
    /// Whether the server had a record of the named request to attach.
    pub request_record_attached: bool,
}

/// Validates and stores a report. `reporter` is the user of a valid bearer credential, if any.
pub fn submit(
    core: &Core,
    report: &NewReport<'_>,
    reporter: Option<&str>,
    ip: &str,
    now: Timestamp,
) -> Result<Received, ApiError> {
    let summary = report.summary.trim();
    if summary.is_empty() || summary.chars().count() > MAX_SUMMARY_CHARS {
        return Err(ApiError::invalid_field(
            "summary",
            "summary must be 1 to 200 characters",
        ));
    }
    if report.details.chars().count() > MAX_DETAILS_CHARS {
        return Err(ApiError::invalid_field(
            "details",
            "details must be at most 10,000 characters",
        ));
    }
    if summary.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "summary",
            "summary must be one line without control characters",
        ));
    }
    for (field, value) in [
        ("handle", report.handle),
        ("sessionId", report.session_id),
        ("requestId", report.request_id),
    ] {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(ApiError::invalid_field(
                field,
                format!("{field} must be one line without control characters"),
            ));
        }
        if value.is_some_and(|v| v.chars().count() > MAX_REFERENCE_CHARS) {
            return Err(ApiError::invalid_field(
                field,
                format!("{field} must be at most 200 characters"),
            ));
        }
    }
    if report
        .repro_artifact
        .is_some_and(|a| a.len() > MAX_ARTIFACT_BYTES)
    {
        return Err(ApiError::invalid_field(
            "reproArtifact",
            "reproArtifact must be at most 64 KiB",
        ));
    }
    let record = match report.request_id {
        Some(rid) => core.requests.find(&core.db, rid)?,
        None => None,
    };
    let record_json = record
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let row = ReportRow {
        id: fresh_id("rpt_")?,
        received_at: now,
        summary: summary.to_owned(),
        details: report.details.to_owned(),
        handle: report.handle.map(str::to_owned),
        session_id: report.session_id.map(str::to_owned),
        request_id: report.request_id.map(str::to_owned),
        repro_artifact: report.repro_artifact.map(str::to_owned),
        reporter_id: reporter.map(str::to_owned),
        ip: ip.to_owned(),
        request_record: record_json,
    };
    core.db.write(|tx| reports::insert(tx, &row))?;
    log::info!(
        "support report {} received (names request {:?})",
        row.id,
        row.request_id
    );
    Ok(Received {
        report_id: row.id,
        received_at: rfc3339(now),
        request_record_attached: record.is_some(),
    })
}
