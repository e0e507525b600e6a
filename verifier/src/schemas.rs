//! What the OpenAPI description names that the handlers' own types do not say: the answers many
//! operations share, each set declared once ([`RoleRefused`], [`Page`], ...), so an attribute
//! lists only what is particular to its handler; the shapes of answers the handlers build with
//! `json!` ([`Me`], [`Alerts`], [`CodeHistory`], ...), declared here for the description only (the
//! tests check real answers against them); and the string enums and path parameters of a few
//! inputs. Handlers name these in their `#[utoipa::path]` attributes and [`crate::openapi`] puts
//! them together; this module names no handler, so neither the routes nor the pages import the
//! module that imports them. (Answers that middleware or an extractor gives every operation of a
//! kind are added by [`crate::openapi`] itself.)

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
    schema::ObjectBuilder,
};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToSchema};

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
pub(crate) fn problem(description: &str, retry_after: bool) -> Response {
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

// ---- Answers many operations share ----

/// Answers by status.
type Answers = BTreeMap<String, RefOr<Response>>;

fn answers<const N: usize>(list: [(&str, Response); N]) -> Answers {
    list.into_iter()
        .map(|(status, response)| (status.to_owned(), RefOr::T(response)))
        .collect()
}

/// A `text/html` answer.
fn html(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "text/html",
        ContentBuilder::new().schema(Some(String::schema())).build(),
    )
}

/// `200`: a page (text/html).
pub struct Page;

impl IntoResponses for Page {
    fn responses() -> Answers {
        answers([("200", html("The page").build())])
    }
}

/// `200`: a verdict, as JSON or as the owner's page.
pub struct VerdictAnswer;

impl IntoResponses for VerdictAnswer {
    fn responses() -> Answers {
        let json = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Verdict")))
            .build();
        let verdict = html("The verdict").content("application/json", json);
        answers([("200", verdict.build())])
    }
}

/// `403`: the parties' API refuses the caller's role, or a code not the caller's to act on.
pub struct RoleRefused;

impl IntoResponses for RoleRefused {
    fn responses() -> Answers {
        let text = "The caller's role may not do this (`wrong_role`, `not_allowed`)";
        answers([("403", problem(text, false))])
    }
}

/// `403` of a dashboard form about one of the manufacturer's codes.
pub struct NotTheMakersCode;

impl IntoResponses for NotTheMakersCode {
    fn responses() -> Answers {
        let text = "No session, a CSRF token that is not the session's (`csrf`), or not the \
                    code's manufacturer (`not_allowed`, `wrong_role`)";
        answers([("403", problem(text, false))])
    }
}

/// `400` and `404` of a manufacturer's code named in the path.
pub struct CallersCode;

impl IntoResponses for CallersCode {
    fn responses() -> Answers {
        answers([
            (
                "400",
                problem("A bad GTIN or serial (`invalid_code`)", false),
            ),
            (
                "404",
                problem(
                    "No code of the caller's has this GTIN and serial (`not_found`)",
                    false,
                ),
            ),
        ])
    }
}

/// `400` and `413` of a form read without a session (the owner page's, the sign-in form).
pub struct UnreadForm;

impl IntoResponses for UnreadForm {
    fn responses() -> Answers {
        answers([
            (
                "400",
                problem("A form field is missing (`invalid_form`)", false),
            ),
            (
                "413",
                problem(
                    "The form is larger than the body limit (`body_too_large`)",
                    false,
                ),
            ),
        ])
    }
}

/// What a manifest upload answers, the API's and the dashboard's alike
/// ([`crate::manifest_upload`]).
pub struct ManifestAnswers;

impl IntoResponses for ManifestAnswers {
    fn responses() -> Answers {
        let summary = ResponseBuilder::new()
            .description("Per-line counts; rejected lines do not fail the upload")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("UploadSummary")))
                    .build(),
            );
        answers([
            ("200", summary.build()),
            (
                "400",
                problem("The manifest cannot be read (`invalid_manifest`)", false),
            ),
            (
                "413",
                problem(
                    "The manifest is larger than 2 GiB (`manifest_too_large`): refused before \
                     reading when `Content-Length` says so; otherwise the lines before the limit \
                     were registered, and re-sending them is harmless",
                    false,
                ),
            ),
            (
                "507",
                problem(
                    "The store's disk filled during the upload (`storage_full`). Each chunk is \
                     stored durably before the next: `stored` is the summary of the lines \
                     stored, `stored_through_line` the last of them; re-send from \
                     `resume_from_line` once the disk has room (lines already stored come back \
                     as already registered)",
                    false,
                ),
            ),
        ])
    }
}

/// A manufacturer's code in the path: `/{gtin}/{serial}`, as given (the handler reads it).
#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CodeInPath {
    /// GS1 GTIN-14 with its check digit
    #[param(example = "06901234567892", format = "gtin", pattern = r"^[0-9]{14}$")]
    pub gtin: String,
    /// Serial number: 1 to 20 characters of GS1 character set 82 (percent-encoded)
    #[param(example = "X7K2P9QD4M", pattern = r#"^[!"%-?A-Z_a-z]{1,20}$"#)]
    pub serial: String,
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
    /// The party's EPCIS id: what an EPCIS document names it by (a shipment's `owning_party`
    /// destination). Parties register no GLN, so it is the service's `{base}/parties/{id}`.
    #[schema(format = "uri")]
    pub epcis_id: String,
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
    /// The carton (SSCC) the event came through, for a carton's shipping or receiving.
    pub carton: Option<String>,
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

// EPCIS capture.

/// An EPCIS capture job, as GS1's REST bindings describe it (`CaptureJob`), with partseal's
/// counts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptureJob {
    #[serde(rename = "captureID")]
    pub capture_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub finished_at: String,
    /// Always false: a capture is finished when it is answered.
    pub running: bool,
    /// False when an event was not stored (under rollback: none was).
    pub success: bool,
    /// rollback or proceed
    #[schema(pattern = "^(rollback|proceed)$")]
    pub capture_error_behaviour: String,
    /// Events in the document.
    pub events: u32,
    /// Events stored.
    pub stored: u32,
    pub errors: Vec<CaptureError>,
}

/// Why one event was not stored: an RFC 7807 problem naming the event.
#[derive(Serialize, ToSchema)]
pub struct CaptureError {
    /// `epcisException:ValidationException`
    pub r#type: String,
    pub title: String,
    pub status: u16,
    /// Stable: the registry's refusal (`not_holder`, `not_registered`, ...),
    /// `unsupported_event` or `touched_twice`.
    pub code: String,
    pub detail: String,
    /// The event's position in `eventList`, from 0.
    pub index: u32,
    /// The event's `eventID`, when it had one.
    pub instance: Option<String>,
}

// ---- GS1 resolver answers (routes::resolver) ----

/// `200` of a part's Digital Link: the verdict (a page, or JSON), its links as an RFC 9264
/// linkset, or its recall status; `307` to the maker's product page; `404` for a `linkType` this
/// service does not know, a link the code or product does not have, or a resolver question about
/// an unreadable code.
pub struct CodeAnswer;

impl IntoResponses for CodeAnswer {
    fn responses() -> Answers {
        let verdict = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Verdict")))
            .build();
        let ok = html("The verdict (for `linkType=gs1:recallStatus`, without custody)")
            .content("application/json", verdict)
            .content("application/linkset+json", linkset());
        answers([
            ("200", ok.build()),
            ("307", product_page_redirect()),
            ("404", problem(NOT_A_LINK, false)),
        ])
    }
}

/// A product's `307` to its product page, `404` for a link it does not have (its `200` linkset
/// is listed beside the product's other answers).
pub struct ProductLinks;

impl IntoResponses for ProductLinks {
    fn responses() -> Answers {
        answers([
            ("307", product_page_redirect()),
            ("404", problem(NOT_A_LINK, false)),
        ])
    }
}

const NOT_A_LINK: &str = "A `linkType` this service does not know (`unknown_link_type`, naming \
    it), no product page registered (`no_product_page`), no recall status of a product \
    (`no_recall_status`), or a resolver question about an unreadable code (`unknown_code`)";

fn linkset() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Linkset::schema()))
        .build()
}

fn product_page_redirect() -> Response {
    ResponseBuilder::new()
        .description("`linkType=gs1:pip`: to the product page the maker registered")
        .header(
            "Location",
            HeaderBuilder::new()
                .schema(String::schema())
                .description(Some("The product page"))
                .build(),
        )
        .build()
}

/// An RFC 9264 linkset in its JSON form (section 4.2), as GS1 resolvers answer it.
#[derive(Serialize, ToSchema)]
pub struct Linkset {
    /// One link context: the Digital Link asked.
    #[schema(inline)]
    pub linkset: Vec<LinkContext>,
}

/// A link context: its anchor, and each relation type (a GS1 Web Vocabulary URI such as
/// `https://gs1.org/voc/verificationService`) with its targets.
#[derive(Serialize, ToSchema)]
pub struct LinkContext {
    /// The Digital Link without its query.
    pub anchor: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub links: BTreeMap<String, Vec<LinkTarget>>,
}

/// A link's target and its attributes (RFC 9264 section 4.2.4).
#[derive(Serialize, ToSchema)]
pub struct LinkTarget {
    pub href: String,
    pub title: String,
    /// The target's media type.
    #[serde(rename = "type")]
    pub media_type: String,
    /// The languages of a page (BCP 47).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hreflang: Option<Vec<String>>,
}

/// `linkType`: which of a Digital Link's links to answer.
pub struct LinkTypeName;

impl PartialSchema for LinkTypeName {
    fn schema() -> RefOr<Schema> {
        string_enum(
            &[
                "all",
                "linkset",
                "gs1:verificationService",
                "gs1:defaultLink",
                "gs1:pip",
                "gs1:recallStatus",
                "https://gs1.org/voc/verificationService",
                "https://gs1.org/voc/defaultLink",
                "https://gs1.org/voc/pip",
                "https://gs1.org/voc/recallStatus",
            ],
            "all or linkset: the links as an RFC 9264 linkset; gs1:verificationService and \
             gs1:defaultLink: the usual answer; gs1:pip: 307 to the maker's product page; \
             gs1:recallStatus: the part's recall status (parts only). Any other value is 404 \
             `unknown_link_type`.",
        )
    }
}

impl ToSchema for LinkTypeName {}
