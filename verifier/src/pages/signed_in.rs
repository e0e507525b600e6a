//! The openings the signed-in pages share, as axum extractors, so that each handler starts with
//! its own work:
//!
//! | extractor | for | no live session | a session of another role |
//! |---|---|---|---|
//! | [`SignedIn`] | a page (GET), its language switched by `?lang=` | the sign-in form | the sign-in form, saying the page is not for that account |
//! | [`CheckedForm`] | a form (POST) carrying the session's CSRF token | `403 csrf` | `403 wrong_role` |
//! | [`CheckedHeader`] | the dashboard's upload, the token in `X-CSRF-Token` | `403 csrf` | `403 wrong_role` |
//!
//! Each reads the request's session from the store once, on the blocking pool
//! ([`Sessions::load`]). A form that cannot be read carries no token to check, so it is refused
//! as a form from another site is: `403 csrf`. A browser sees every refusal as a page in its
//! language (`errors::html_errors`). Who the pages are for is an [`Audience`].
//!
//! Also here: the sign-in form, which the pages show in place of what was asked.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry::Role;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::i18n::{Lang, Texts};
use super::session::{self, LiveSession, Sessions};
use super::{render, with_lang};
use crate::error::ApiError;
use crate::state::AppState;

/// The header that carries the session's CSRF token where the body is not a form.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who a group of signed-in pages is for.
pub trait Audience {
    /// The roles whose sessions the pages serve.
    const ROLES: &'static [Role];
    /// What a form posted from a session of another role is told (`403 wrong_role`).
    const REFUSAL: &'static str;
    /// The page the sign-in form shown instead stands for (its language switch leads there and
    /// its heading names it); `None` for the page asked for.
    const SIGN_IN_TO: Option<&'static str>;
}

/// The shop's scanning station: shops and distributors.
pub struct Station;

impl Audience for Station {
    const ROLES: &'static [Role] = &[Role::Shop, Role::Distributor];
    const REFUSAL: &'static str = "the station is for shops and distributors";
    const SIGN_IN_TO: Option<&'static str> = Some("/shop");
}

/// A vehicle's installed parts: the shops that fit them.
pub struct Shops;

impl Audience for Shops {
    const ROLES: &'static [Role] = &[Role::Shop];
    const REFUSAL: &'static str = "a vehicle's parts are for shops";
    const SIGN_IN_TO: Option<&'static str> = Some("/shop");
}

/// The manufacturer's dashboard and its pages.
pub struct Dashboard;

impl Audience for Dashboard {
    const ROLES: &'static [Role] = &[Role::Manufacturer];
    const REFUSAL: &'static str = "the dashboard is for manufacturers";
    const SIGN_IN_TO: Option<&'static str> = None;
}

/// The dashboard's manifest upload.
pub struct ManifestUpload;

impl Audience for ManifestUpload {
    const ROLES: &'static [Role] = &[Role::Manufacturer];
    const REFUSAL: &'static str = "uploading a manifest is for manufacturers";
    const SIGN_IN_TO: Option<&'static str> = None;
}

/// What any party does with its own session: signing out, its station's rows and mode (a
/// non-shop's install mode is refused on the page, in words).
pub struct AnyParty;

impl Audience for AnyParty {
    const ROLES: &'static [Role] = &[Role::Manufacturer, Role::Distributor, Role::Shop];
    const REFUSAL: &'static str = "this is for signed-in parties";
    const SIGN_IN_TO: Option<&'static str> = Some("/shop");
}

/// A page for `A`'s signed-in parties. Refused with the page to show instead: the sign-in form.
pub struct SignedIn<A> {
    pub session: LiveSession,
    audience: PhantomData<A>,
}

/// The language a signed-in page asks for: the session's from then on. Its description is the
/// pages' `lang` parameter.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `zh-CN` or `en`
    pub lang: Option<String>,
}

impl<A: Audience> FromRequestParts<AppState> for SignedIn<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Query(query) = Query::<LangQuery>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let page = A::SIGN_IN_TO.unwrap_or(parts.uri.path()).to_owned();
        let loading = sessions(&parts.extensions)
            .map_err(IntoResponse::into_response)?
            .load(&parts.headers);
        let Some(mut session) = loading.await.map_err(IntoResponse::into_response)? else {
            let lang = Lang::choose(query.lang.as_deref(), &parts.headers);
            return Err(sign_in_page(state, lang, &page, None));
        };
        // `?lang=` switches the session's language for good, as the page's switch link asks.
        if let Some(asked) = query.lang.as_deref() {
            let lang = Lang::choose(Some(asked), &HeaderMap::new());
            session.with(|s| s.lang = lang).await;
        }
        if !A::ROLES.contains(&session.party().role) {
            let lang = session.lang();
            let wrong_role = Some(lang.texts().wrong_role);
            return Err(sign_in_page(state, lang, &page, wrong_role));
        }
        Ok(SignedIn {
            session,
            audience: PhantomData,
        })
    }
}

/// A form the signed-in pages post: it carries the session's CSRF token as `csrf`.
pub trait SessionForm: DeserializeOwned + Send {
    fn csrf(&self) -> &str;
}

/// Makes forms with a `csrf` field [`SessionForm`]s.
macro_rules! session_forms {
    ($($form:ty),+) => {
        $(impl $crate::pages::signed_in::SessionForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use session_forms;

/// A form posted from one of `A`'s signed-in pages, its CSRF token the live session's.
pub struct CheckedForm<T, A = AnyParty> {
    pub session: LiveSession,
    pub form: T,
    audience: PhantomData<A>,
}

impl<T: SessionForm, A: Audience> FromRequest<AppState> for CheckedForm<T, A> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        // Nothing is read from the store until the form is: a body that stops arriving is
        // answered 408 by the body deadline, whatever the session.
        let loading = sessions(request.extensions())?.load(request.headers());
        let Ok(Form(form)) = Form::<T>::from_request(request, state).await else {
            return Err(session::refused());
        };
        let session = checked::<A>(loading, form.csrf()).await?;
        Ok(CheckedForm {
            session,
            form,
            audience: PhantomData,
        })
    }
}

/// A request from one of `A`'s signed-in pages whose body is not a form (the dashboard's upload
/// streams a file): the session's CSRF token in [`CSRF_HEADER`].
pub struct CheckedHeader<A> {
    pub session: LiveSession,
    audience: PhantomData<A>,
}

impl<A: Audience> FromRequestParts<AppState> for CheckedHeader<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let csrf = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let loading = sessions(&parts.extensions)?.load(&parts.headers);
        Ok(CheckedHeader {
            session: checked::<A>(loading, csrf).await?,
            audience: PhantomData,
        })
    }
}

/// The loaded session if `csrf` is its token and its party one of `A`'s roles.
async fn checked<A: Audience>(
    loading: impl Future<Output = Result<Option<LiveSession>, ApiError>>,
    csrf: &str,
) -> Result<LiveSession, ApiError> {
    let session = loading.await?.ok_or_else(session::refused)?;
    if !session::same(session.csrf().as_bytes(), csrf.as_bytes()) {
        return Err(session::refused());
    }
    if !A::ROLES.contains(&session.party().role) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_role",
            A::REFUSAL,
        ));
    }
    Ok(session)
}

/// The sessions the router puts in every signed-in route's extensions.
fn sessions(extensions: &Extensions) -> Result<&Arc<Sessions>, ApiError> {
    extensions
        .get::<Arc<Sessions>>()
        .ok_or_else(|| ApiError::internal(&"a signed-in route was routed without the sessions"))
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    heading: &'static str,
    error: Option<&'static str>,
    csrf: String,
}

/// Whether the service is reached over https, so its cookies are `Secure`.
pub(crate) fn secure(state: &AppState) -> bool {
    state.config().base_url.as_str().starts_with("https://")
}

/// The sign-in form for the page at `path`, with a fresh CSRF token in the form and in a cookie
/// scoped to `/signin`.
pub(crate) fn sign_in_page(
    state: &AppState,
    lang: Lang,
    path: &str,
    error: Option<&'static str>,
) -> Response {
    let t = lang.texts();
    let csrf = session::random_token();
    let cookie = session::sign_in_cookie(&csrf, secure(state));
    let mut page = render(&SignInPage {
        csrf,
        lang,
        t,
        switch_href: with_lang(path, lang.other()),
        heading: if path.starts_with("/dashboard") {
            t.dashboard_title
        } else {
            t.shop_title
        },
        error,
    });
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        page.headers_mut().append(header::SET_COOKIE, value);
    }
    page
}
