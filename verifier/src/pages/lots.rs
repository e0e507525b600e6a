//! The manufacturer's lots (`/dashboard/lots`): each GTIN and lot with its codes, public scans,
//! open alerts and whether it is recalled, from [`registry::Registry::lots`]'s bounded walk.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::case_text::{self, CaseTexts};
use super::i18n::{Lang, Texts};
use super::signed_in::{Dashboard, LangQuery, SignedIn};
use super::{render, with_lang};
use crate::error::ApiError;
use crate::schemas::Page;
use crate::state::AppState;

/// Code records the walk looks at, at most (everyone's): about a second on the service's disk.
const MAX_CODES_WALKED: u64 = 500_000;

pub struct LotRow {
    pub gtin: String,
    pub lot: String,
    pub codes: u64,
    pub scans: u64,
    pub alerting: u64,
    pub recalled: bool,
}

#[derive(Template)]
#[template(path = "lots.html")]
struct LotsPage {
    lang: Lang,
    t: &'static Texts,
    c: &'static CaseTexts,
    switch_href: String,
    rows: Vec<LotRow>,
    incomplete: Option<String>,
}

/// `GET /dashboard/lots`: the signed-in manufacturer's lots.
#[utoipa::path(
    get,
    path = "/dashboard/lots",
    tag = "pages",
    summary = "The manufacturer's lots",
    description = "For a signed-in manufacturer: each GTIN and lot it registered, with the \
        number of codes, their public scans in all, open alerts and whether the lot is recalled. \
        Counted by walking at most 500,000 code records of the registry; the page says when the \
        walk stopped before the end. Without a session: the sign-in form.",
    params(LangQuery),
    responses(Page)
)]
pub async fn lots(
    State(state): State<AppState>,
    SignedIn { session, .. }: SignedIn<Dashboard>,
) -> Result<Response, ApiError> {
    let (lang, party) = (session.lang(), session.party());
    let c = case_text::texts(lang);
    let me = party.id.clone();
    let counted = state
        .blocking(move |r| r.lots(&me, MAX_CODES_WALKED))
        .await??;
    let rows = counted
        .lots
        .into_iter()
        .map(|l| LotRow {
            gtin: l.gtin.as_str().to_owned(),
            lot: l
                .lot
                .map_or_else(|| c.no_lot.to_owned(), |l| l.as_str().to_owned()),
            codes: l.codes,
            scans: l.scans,
            alerting: l.alerting,
            recalled: l.recalled,
        })
        .collect();
    Ok(render(&LotsPage {
        lang,
        t: lang.texts(),
        c,
        switch_href: with_lang("/dashboard/lots", lang.other()),
        rows,
        incomplete: (!counted.complete).then(|| {
            c.lots_incomplete
                .replace("{n}", &counted.examined.to_string())
        }),
    }))
}
