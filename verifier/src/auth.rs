//! Bearer-token authentication for the parties' API.
//!
//! [`Caller`] extracts the party behind `Authorization: Bearer pst_…`. Every failure answers 401
//! `invalid_token` without saying why (expired, revoked, unknown: an attacker learns nothing); the
//! reason goes to the log with the token's public id only, never the secret.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use registry::{Party, Role};
use signer::Timestamp;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated party making the request.
#[derive(Clone, Debug)]
pub struct Caller(pub Party);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "missing_token",
                "this endpoint needs an API token: Authorization: Bearer pst_...",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("")
            .to_owned();
        let now = Timestamp::now();
        let result = state
            .blocking(move |r| r.authenticate(&token, now))
            .await??;
        match result {
            Ok(party) => Ok(Caller(party)),
            Err(reason) => {
                tracing::info!(%reason, "refused an API token");
                Err(unauthorized(
                    "invalid_token",
                    "the API token is not valid (unknown, expired or revoked)",
                ))
            }
        }
    }
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}

impl Caller {
    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], doing: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_role",
            format!(
                "{doing} is for {}; you are a {}",
                allowed.join(" or "),
                self.0.role.as_str()
            ),
        ))
    }
}
