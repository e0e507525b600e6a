//! Every error the service answers with: RFC 9457 `application/problem+json` carrying a stable
//! machine-readable `code` and a human `detail`. 5xx bodies stay generic; their cause goes to the log.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry::{CartonError, Fault, RegistryError, TextError, TextField};
use serde::Serialize;

/// The stable codes of a write refused for storage.
pub const STORAGE_FULL: &str = "storage_full";
pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable";
/// What a client refused for storage is told to wait: about when the store tests its device again.
pub const STORAGE_RETRY_SECS: u64 = 5;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// For batch requests: which item failed.
    index: Option<usize>,
    retry_after_secs: Option<u64>,
    /// More members of the problem body (RFC 9457 extension members), e.g. what an interrupted
    /// upload stored.
    extension: serde_json::Map<String, serde_json::Value>,
}

/// An RFC 9457 problem (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    /// Always `about:blank`: the status and `code` say what happened.
    #[schema(example = "about:blank")]
    r#type: &'static str,
    /// The HTTP status's reason phrase.
    #[schema(example = "Bad Request")]
    title: &'a str,
    /// The HTTP status code.
    #[schema(example = 400)]
    status: u16,
    /// Stable and machine-readable, e.g. `invalid_code`, `invalid_token`, `wrong_role`,
    /// `not_found`, `rate_limited`, `overloaded`.
    #[schema(example = "invalid_code")]
    code: &'static str,
    /// For people; 5xx details are generic.
    detail: &'a str,
    /// For batch requests: which item failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            index: None,
            retry_after_secs: None,
            extension: serde_json::Map::new(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from your network; wait and try again",
            )
        }
    }

    pub fn overloaded() -> Self {
        ApiError {
            retry_after_secs: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the service is busy; try again in a moment",
            )
        }
    }

    /// An unexpected failure: the cause is logged, the client gets a generic answer.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }

    /// The store cannot write: 507 `storage_full` when its device is full, else 503
    /// `storage_unavailable` with `Retry-After`. Reads go on; writes resume by themselves once the
    /// device takes them again. The cause is logged, not sent.
    pub fn storage(fault: &Fault) -> Self {
        // The store logs an error when writes begin to fail; each refusal after that is a warning.
        tracing::warn!(error = %fault, "a write refused: the store cannot write");
        if fault.is_full() {
            Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                STORAGE_FULL,
                "the registry's disk is full, so this change was not recorded; reads still work, \
                 and writes resume by themselves once an operator frees space",
            )
            .retry_after(STORAGE_RETRY_SECS)
        } else {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                STORAGE_UNAVAILABLE,
                "the registry cannot write to its storage at the moment, so this change was not \
                 recorded; reads still work; try again shortly",
            )
            .retry_after(STORAGE_RETRY_SECS)
        }
    }

    /// Replaces the detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Adds a sentence to the detail.
    pub fn and_say(mut self, more: &str) -> Self {
        self.detail = format!("{}; {more}", self.detail);
        self
    }

    /// Adds a member to the problem body.
    pub fn with(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extension.insert(name.to_owned(), value);
        self
    }

    /// Tells the client when to try again (a `Retry-After` header).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    /// Marks which item of a batch failed.
    pub fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            r#type: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.detail,
            index: self.index,
        };
        let mut response = if self.extension.is_empty() {
            (self.status, Json(body)).into_response()
        } else {
            let mut value = serde_json::to_value(&body).unwrap_or_default();
            if let Some(members) = value.as_object_mut() {
                members.extend(self.extension);
            }
            (self.status, Json(value)).into_response()
        };
        // For layers that answer people rather than programs (the pages' storage fault page).
        response.extensions_mut().insert(ProblemCode(self.code));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750: say which scheme the endpoint wants.
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The `code` of a problem response, kept in the response's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);

/// The one mapping from what the registry refuses to what clients are answered. Storage faults
/// are 507 `storage_full` or 503 `storage_unavailable` ([`ApiError::storage`]); other storage
/// errors are internal (logged, generic to the client). Where a page asks for a field the
/// registry bounds, it checks the field itself first and answers in its form's own code.
impl From<&RegistryError> for ApiError {
    fn from(e: &RegistryError) -> Self {
        use RegistryError as E;
        let detail = e.to_string();
        match e {
            // Other replicas kept changing the code while this write was judged again and again.
            E::Store(registry::StoreError::Conflict) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                STORAGE_UNAVAILABLE,
                "the part was being changed by other requests at the same moment, so this change \
                 was not recorded; try again",
            )
            .retry_after(1),
            E::Store(_) => match e.fault() {
                Some(fault) => Self::storage(&fault),
                None => Self::internal(e),
            },
            E::NotRegistered(key) => Self::new(
                StatusCode::NOT_FOUND,
                "not_registered",
                format!("{key} is not registered"),
            ),
            E::LabelMismatch(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "code_mismatch",
                "this label's signature is not the registered one for its serial: the label may be \
                 forged. Nothing was recorded; keep the part aside and report it.",
            ),
            E::UnknownRecipient(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_party", detail)
            }
            E::NotAllowed(why) => Self::new(StatusCode::FORBIDDEN, "not_allowed", why.to_string()),
            E::Carton(why) => Self::new(carton_status(why), why.code(), detail),
            E::InvalidCorrection(why) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_correction",
                why.to_string(),
            ),
            E::VinNotConfirmed(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "vin_check_digit", detail)
            }
            E::Recalled(reason) => Self::new(
                StatusCode::CONFLICT,
                "recalled",
                format!(
                    "this part is recalled by its manufacturer ({reason}): do not fit it. Nothing \
                     was recorded. To install it anyway, send the event again with \
                     \"override_recall\": true; the override is recorded with it."
                ),
            ),
            E::Trust(why) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "trust_refused",
                why.to_string(),
            ),
            // Only the dashboard keeps a manufacturer's notes: its forms' code.
            E::Text(TextError {
                field: TextField::Note | TextField::NoteAction,
                ..
            }) => Self::bad_request("invalid_note", detail),
            E::ManifestUnreadable(_) => Self::bad_request("invalid_manifest", detail),
            E::LabelNeeded(_)
            | E::InvalidResolution(_)
            | E::Text(_)
            | E::PartyExists(_)
            | E::NoSuchParty(_)
            | E::PartyRevoked(_)
            | E::NoSuchToken(_) => Self::bad_request("invalid_input", detail),
            E::WriterStopped => Self::internal(e),
        }
    }
}

/// A carton refusal's status: the limits are 413, a carton that is not there 404, what stored
/// state forbids (a carton or code already packed, a part the caller does not hold) 409, and a
/// request wrong in itself 422.
fn carton_status(why: &CartonError) -> StatusCode {
    use CartonError as C;
    match why {
        C::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        C::Unknown(_) => StatusCode::NOT_FOUND,
        C::Exists(_)
        | C::CodeAlreadyPacked(_)
        | C::CartonAlreadyPacked(_)
        | C::NotHolder(_)
        | C::Nested(_) => StatusCode::CONFLICT,
        C::Empty(_)
        | C::TooDeep(_)
        | C::CodeTwice(_)
        | C::CartonTwice(_)
        | C::Cycle(_)
        | C::NotTheirPrefix { .. }
        | C::NotInside { .. }
        | C::NotItsReceiving { .. }
        | C::UndoRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        Self::from(&e)
    }
}

/// Bad JSON gets the project's error format, not axum's plain text.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::JsonSyntaxError(_) => "invalid_json",
            JsonRejection::JsonDataError(_) => "invalid_field",
            _ => "invalid_body",
        };
        let status = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            code
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

/// A form that cannot be read: 413 `body_too_large` past the body limit, as for JSON; otherwise
/// 400 `invalid_form`, its detail after `saying`.
pub fn form_rejected(rejection: &FormRejection, saying: &str) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            rejection.body_text(),
        );
    }
    ApiError::bad_request("invalid_form", format!("{saying}{rejection}"))
}

/// `Json<T>` with the project's error format for rejections.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;
    use registry::event::Step;
    use registry::{
        CodeKey, CorrectionError, NotAllowed, PartyId, ResolutionError, StoreError, TrustRefused,
        Vin,
    };
    use signer::{Gtin, Serial};

    /// Every registry refusal, with the status and code clients get for it.
    #[test]
    fn every_registry_error_has_its_one_answer() {
        let key = CodeKey::new(
            &Gtin::parse("06901234567892").unwrap(),
            &Serial::parse("X7K2P9QD4M").unwrap(),
        );
        let party = PartyId::parse("shop-1").unwrap();
        let vin = Vin::parse_confirmed("WVWZZZ1JZXW000001").unwrap();
        let sscc = signer::Sscc::parse("106141412345678908").unwrap();
        let packed = key.clone();
        let text = |field| RegistryError::Text(TextError { field, len: 501 });
        let full = StoreError::Fault(Fault::Full("disk".into()));
        let cases: Vec<(RegistryError, u16, &str)> = vec![
            (
                RegistryError::Store(StoreError::Conflict),
                503,
                STORAGE_UNAVAILABLE,
            ),
            (RegistryError::Store(full), 507, STORAGE_FULL),
            (
                RegistryError::Store(StoreError::corrupt("x", "y")),
                500,
                "internal",
            ),
            (
                RegistryError::NotRegistered(key.clone()),
                404,
                "not_registered",
            ),
            (RegistryError::LabelMismatch(key), 422, "code_mismatch"),
            (
                RegistryError::UnknownRecipient(party.clone()),
                422,
                "unknown_party",
            ),
            (
                RegistryError::LabelNeeded(Step::Receiving),
                400,
                "invalid_input",
            ),
            (
                NotAllowed::ManufacturerOnly(Step::Recalling).into(),
                403,
                "not_allowed",
            ),
            (
                CorrectionError::AlreadyCorrected(2).into(),
                422,
                "invalid_correction",
            ),
            (ResolutionError::NoNote.into(), 400, "invalid_input"),
            (RegistryError::VinNotConfirmed(vin), 422, "vin_check_digit"),
            (
                text(TextField::Step(Step::Destroying)),
                400,
                "invalid_input",
            ),
            (text(TextField::RecallReason), 400, "invalid_input"),
            (text(TextField::Note), 400, "invalid_note"),
            (RegistryError::Recalled("cracks".into()), 409, "recalled"),
            (
                RegistryError::PartyExists(party.clone()),
                400,
                "invalid_input",
            ),
            (
                RegistryError::NoSuchParty(party.clone()),
                400,
                "invalid_input",
            ),
            (RegistryError::PartyRevoked(party), 400, "invalid_input"),
            (
                RegistryError::NoSuchToken("t1".into()),
                400,
                "invalid_input",
            ),
            (
                TrustRefused::Certificate(signer::CertError::BadSignature).into(),
                422,
                "trust_refused",
            ),
            (
                RegistryError::ManifestUnreadable(Box::new(signer::ManifestError::Io {
                    line: 7,
                    source: std::io::Error::other("reset"),
                })),
                400,
                "invalid_manifest",
            ),
            (RegistryError::WriterStopped, 500, "internal"),
            (
                CartonError::TooLarge {
                    what: "codes",
                    found: 10_000,
                    limit: 1_000,
                }
                .into(),
                413,
                "carton_too_large",
            ),
            (CartonError::Unknown(sscc).into(), 404, "unknown_carton"),
            (CartonError::Exists(sscc).into(), 409, "carton_exists"),
            (CartonError::NotHolder(sscc).into(), 409, "not_holder"),
            (
                CartonError::CodeAlreadyPacked(packed.clone()).into(),
                409,
                "already_packed",
            ),
            (CartonError::Nested(sscc).into(), 409, "carton_nested"),
            (CartonError::Empty(sscc).into(), 422, "carton_empty"),
            (CartonError::Cycle(sscc).into(), 422, "carton_cycle"),
            (CartonError::CodeTwice(packed).into(), 422, "packed_twice"),
            (CartonError::TooDeep(4).into(), 422, "carton_too_deep"),
            (
                CartonError::NotTheirPrefix {
                    sscc,
                    party: PartyId::parse("acme-brakes").unwrap(),
                }
                .into(),
                422,
                "sscc_prefix",
            ),
        ];
        for (e, status, code) in cases {
            let said = e.to_string();
            let answer = ApiError::from(e);
            assert_eq!(
                (answer.status().as_u16(), answer.code()),
                (status, code),
                "{said}"
            );
            if status < 500 {
                assert!(!answer.detail().is_empty(), "{said}");
            }
        }
    }

    #[test]
    fn a_refusal_says_what_was_wrong_and_where() {
        let e = RegistryError::from(CorrectionError::WindowClosed {
            corrects: 3,
            days: 10,
            closed: signer::Timestamp::parse("2026-11-12T00:00:00Z").unwrap(),
        });
        let answer = ApiError::from(&e);
        assert!(
            answer
                .detail()
                .starts_with("event 3 is older than the 10-day correction window"),
            "{}",
            answer.detail()
        );
        let recalled = ApiError::from(RegistryError::Recalled("cracks".into()));
        assert!(recalled.detail().contains("\"override_recall\": true"));
    }
}
