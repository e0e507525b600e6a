//! Every route the service serves, as data: the router checks each route it builds against this
//! list, metrics label requests by its patterns, a trailing-slash redirect goes only to a listed
//! route, and the OpenAPI and authorization tests compare the description and the answers with it.
//! It imports nothing, so all of them can read it without importing one another.

/// Every (method, path) the router serves. `/openapi.json` must describe exactly these (its test
/// compares the two), and [`crate::router`] refuses to build a route missing here, so an endpoint
/// cannot be added without its description.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/log/checkpoint"),
    ("GET", "/log/key"),
    ("GET", "/log/tile/{*path}"),
    ("GET", "/"),
    ("GET", "/01/{gtin}"),
    ("GET", "/01/{gtin}/21/{serial}"),
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}"),
    ("GET", "/lookup"),
    ("POST", "/vehicle-check"),
    ("POST", "/reports"),
    ("POST", "/owner/report"),
    ("POST", "/owner/vehicle-check"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", "/shop"),
    ("POST", "/shop/scan"),
    ("POST", "/shop/mode"),
    ("GET", "/shop/vehicle"),
    ("POST", "/shop/decide"),
    ("POST", "/shop/undo"),
    ("GET", "/dashboard"),
    ("POST", "/dashboard/alerts"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/events/batch"),
    ("POST", "/api/v1/lots/recall"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/codes/{gtin}/{serial}"),
    ("GET", "/api/v1/codes/{gtin}/{serial}/epcis"),
    ("GET", "/api/v1/vehicles/{vin}"),
    ("GET", "/api/v1/notices"),
    ("POST", "/api/v1/manifests"),
    ("GET", "/dashboard/codes/{gtin}/{serial}"),
    ("GET", "/dashboard/find"),
    ("POST", "/dashboard/recall"),
    ("POST", "/dashboard/manifests"),
    ("GET", "/dashboard/lots"),
    // The station's scripts.
    ("GET", "/assets/{name}"),
    // The maker's packing records.
    ("GET", "/dashboard/cartons"),
    ("GET", "/dashboard/cartons/{sscc}"),
    ("GET", "/dashboard/cartons/{sscc}/label.pdf"),
    ("GET", "/dashboard/cartons/{sscc}/label.png"),
    ("GET", "/dashboard/cartons/{sscc}/label.svg"),
    // EPCIS 2.0 capture.
    ("OPTIONS", "/epcis/capture"),
    ("POST", "/epcis/capture"),
    ("GET", "/epcis/capture/{id}"),
];
