//! What the OpenAPI description names that the handlers' own types do not say: the shapes of
//! answers the handlers build with `json!` ([`Me`], [`Alerts`], [`CodeHistory`], ...), declared
//! here for the description only (the tests check real answers against them), and the string
//! enums of a few inputs. Handlers name these in their `#[utoipa::path]` attributes and
//! [`crate::openapi`] puts them together; this module names no handler, so neither the routes nor
//! the pages import the module that imports them.

use serde::Serialize;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder, Schema, Type, schema::ObjectBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::verdict::VerdictCode;

/// A string enum with a description, for inputs the derives cannot describe.
pub(crate) fn string_enum(values: &[&str], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .into()
}

/// What the dashboard's alert form asks of an alert.
pub struct AlertActionName;

impl PartialSchema for AlertActionName {
    fn schema() -> RefOr<Schema> {
        string_enum(
            &["investigating", "genuine", "counterfeit"],
            "investigating: mark it as being looked into; genuine: a false alarm; counterfeit: \
             copies of the label exist",
        )
    }
}

impl ToSchema for AlertActionName {}

/// How a manufacturer resolves an alert.
pub struct ResolutionName;

impl PartialSchema for ResolutionName {
    fn schema() -> RefOr<Schema> {
        string_enum(
            &["genuine", "counterfeit"],
            "genuine: a false alarm; counterfeit: copies of the label exist",
        )
    }
}

impl ToSchema for ResolutionName {}

/// A problem+json answer (RFC 9457, [`crate::error::Problem`]) with `description`, and a
/// `Retry-After` header if `retry_after`.
pub(crate) fn problem(description: &str, retry_after: bool) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    response.build()
}

// ---- Shapes of the answers built with `json!` ----

/// `{"status": "ok"}` from /healthz, `{"status": "ready", "reads": "ok", "writes": "ok"}` from
/// /readyz.
#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
    /// /readyz: whether the store answers reads (`ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reads: Option<String>,
    /// /readyz: whether the store takes writes (`ok`; while it cannot, /readyz answers 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes: Option<String>,
}

/// A public report was received.
#[derive(Serialize, ToSchema)]
pub struct Received {
    #[schema(example = "received")]
    pub status: String,
    /// The report's own id (16 hex digits).
    pub id: String,
    /// The verdict the code got when the report was made.
    #[schema(value_type = VerdictCode)]
    pub verdict: String,
}

/// The party an API token belongs to.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    /// manufacturer, distributor or shop
    pub role: String,
    pub name: String,
    pub region: Option<String>,
}

/// A recalled lot.
#[derive(Serialize, ToSchema)]
pub struct LotRecall {
    pub gtin: String,
    pub lot: String,
    pub recalled_at: String,
    pub reason: String,
}

/// The caller's flagged codes, and the reports of forged labels under its GTINs.
#[derive(Serialize, ToSchema)]
pub struct Alerts {
    pub alerts: Vec<Flagged>,
    /// Newest first.
    pub forged_label_reports: Vec<ReportItem>,
}

/// A code with its flags.
#[derive(Serialize, ToSchema)]
pub struct Flagged {
    pub code: String,
    pub gtin: String,
    pub serial: String,
    pub lot: Option<String>,
    /// at_manufacturer, held, in_transit, installed, destroyed, voided
    pub custody: String,
    pub duplicate_suspected: bool,
    pub conflicts: u32,
    /// Claims and refused attempts on the code (typed numbers where the part cannot be, a
    /// non-holder's ship, remove or destroy): see the history's events.
    pub claims: u32,
    /// Set once the maker resolved an alert as counterfeit: the verdict warns of copies for good.
    pub copies_known: Option<CopiesKnown>,
    pub evidence: Vec<DuplicateEvidence>,
    pub scan_anomaly: Option<ScanAnomaly>,
}

/// The maker's finding that copies of the code's label exist.
#[derive(Serialize, ToSchema)]
pub struct CopiesKnown {
    pub at: String,
    /// Where the genuine part is: vehicle, holder or unknown.
    pub genuine: String,
}

/// Custody events impossible for one part.
#[derive(Serialize, ToSchema)]
pub struct DuplicateEvidence {
    pub kind: String,
    pub event: u32,
    pub conflicts_with: u32,
    pub at: String,
    pub explanation: String,
}

/// A code scanned from more networks than where it is recorded makes plausible.
#[derive(Serialize, ToSchema)]
pub struct ScanAnomaly {
    pub at: String,
    pub networks: u32,
    pub window_hours: u32,
    pub threshold: u32,
    pub explanation: String,
}

/// A code with its flags and every event.
#[derive(Serialize, ToSchema)]
pub struct CodeHistory {
    #[serde(flatten)]
    pub code: Flagged,
    pub events: Vec<HistoryEvent>,
}

/// One event of a code's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryEvent {
    pub seq: u32,
    pub step: String,
    pub at: String,
    pub actor: String,
    /// applied, repeated, conflict (evidence), claim, or refused (a non-holder's attempt, kept as
    /// a claim)
    pub outcome: String,
    /// scanned, typed, or legacy (recorded before the two were told apart)
    pub basis: String,
}

/// Parts the caller had that another party moved, newest first.
#[derive(Serialize, ToSchema)]
pub struct Notices {
    pub notices: Vec<NoticeItem>,
}

/// One part the caller had, moved by another party.
#[derive(Serialize, ToSchema)]
pub struct NoticeItem {
    pub code: String,
    pub gtin: String,
    pub serial: String,
    /// The event that moved it, in the code's history.
    pub seq: u32,
    pub at: String,
    /// removed_by_another_shop or received_elsewhere
    pub kind: String,
    /// The party that recorded it, and its name and region.
    pub by: String,
    pub by_name: Option<String>,
    pub by_region: Option<String>,
    pub explanation: String,
}

/// Public reports on the caller's codes, newest first.
#[derive(Serialize, ToSchema)]
pub struct Reports {
    pub reports: Vec<ReportItem>,
}

/// A public report of a suspect part.
#[derive(Serialize, ToSchema)]
pub struct ReportItem {
    /// Empty for reports kept before reports had ids.
    pub id: String,
    pub code: String,
    pub at: String,
    pub text: String,
    pub contact: Option<String>,
    /// From a trusted proxy, if any.
    pub region: Option<String>,
    /// The verdict the code got when the report was made.
    pub verdict: Option<String>,
    /// The scanned label's key id and signature (base64url), when the report came from a scan.
    pub key_id: Option<String>,
    pub signature: Option<String>,
}

/// The parts installed in a vehicle.
#[derive(Serialize, ToSchema)]
pub struct VehicleParts {
    pub vin: String,
    pub parts: Vec<InstalledPart>,
}

/// A part recorded as installed.
#[derive(Serialize, ToSchema)]
pub struct InstalledPart {
    pub code: String,
    pub gtin: String,
    pub serial: String,
    pub lot: Option<String>,
    pub manufacturer: String,
    pub installed_at: String,
    pub installed_by: String,
    pub duplicate_suspected: bool,
    pub recalled: bool,
}
