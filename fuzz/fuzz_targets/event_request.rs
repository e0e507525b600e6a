//! Custody event requests (`POST /api/v1/events`, and each scan of a batch): any body is
//! deserialised as the handler does, and what deserialises is turned into the code it names and
//! the action it asks for (or, for a carton's request, the carton and its step), as each role,
//! without a registry. No input panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry::{Party, PartyId, Role};
use signer::Timestamp;
use verifier::auth::Caller;
use verifier::routes::api::{BatchRequest, EventRequest, check_event_request};
use verifier::routes::carton_events::check_carton_request;

fuzz_target!(|data: &[u8]| {
    let callers = [Role::Manufacturer, Role::Distributor, Role::Shop].map(|role| {
        Caller(Party {
            id: PartyId::parse("party-1").expect("a valid party id"),
            role,
            name: "Party".to_owned(),
            region: None,
            created_at: Timestamp(0),
            revoked_at: None,
        })
    });
    let requests = match serde_json::from_slice::<EventRequest>(data) {
        Ok(one) => vec![one],
        Err(_) => match serde_json::from_slice::<BatchRequest>(data) {
            Ok(batch) => batch.events,
            Err(_) => return,
        },
    };
    for req in &requests {
        for caller in &callers {
            if req.carton.is_some() {
                if let Ok((sscc, _step)) = check_carton_request(caller, req) {
                    assert_eq!(sscc.as_str().len(), 18);
                }
            } else if let Ok((key, _action)) = check_event_request(caller, req) {
                assert!(!key.as_bytes().is_empty());
            }
        }
    }
});
